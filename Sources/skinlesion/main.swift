print("skinlesion")
