#!/usr/bin/env python3
"""Drives the `skinlesion serve` page in headless Chromium like a user: waits for the model
line, picks an image with the file input, waits for the result, turns the Grad-CAM overlay
on, and saves a screenshot. Prints what the page shows as JSON, for ServingTests to compare
with the API's own answer.

Uses Debian's chromium and chromium-driver through selenium (no driver download).
Usage: browser_check.py URL IMAGE SCREENSHOT.png
"""

from __future__ import annotations

import json
import shutil
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def main() -> int:
    url, image, screenshot = sys.argv[1:4]
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: d.find_element(By.ID, "model-line").text.startswith("Model "))
        driver.find_element(By.ID, "file-input").send_keys(image)
        wait.until(lambda d: d.find_element(By.ID, "status").text.startswith(("Done", "Could not")))
        status = driver.find_element(By.ID, "status").text
        toggle = driver.find_element(By.ID, "cam-toggle")
        overlay = driver.find_element(By.ID, "cam-overlay")
        cam_enabled = toggle.is_enabled()
        if cam_enabled:
            driver.execute_script("arguments[0].click()", toggle)
            wait.until(lambda d: d.find_element(By.ID, "cam-overlay").is_displayed())
        bars = driver.find_elements(By.CSS_SELECTOR, "#bars li")
        result = {
            "status": status,
            "model_line": driver.find_element(By.ID, "model-line").text,
            "top": driver.find_element(By.ID, "result-top").text,
            "confidence": driver.find_element(By.ID, "result-confidence").text,
            "low_confidence_shown": driver.find_element(By.ID, "low-confidence").is_displayed(),
            "bars": [bar.find_element(By.CLASS_NAME, "bar-label").text for bar in bars],
            "bar_values": [bar.find_element(By.CLASS_NAME, "bar-value").text for bar in bars],
            "cam_enabled": cam_enabled,
            "cam_shown": overlay.is_displayed(),
            "disclaimer": driver.find_element(By.ID, "intended-use").text,
            "unlabelled_inputs": driver.execute_script(
                "return [...document.querySelectorAll('input')].filter(i => !i.labels || i.labels.length === 0).map(i => i.id)"),
        }
        driver.save_screenshot(screenshot)
        print(json.dumps(result))
        return 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
