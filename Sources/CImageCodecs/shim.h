// Shim over Debian 12's TurboJPEG 2.1 API (libturbojpeg0-dev) and libpng 1.6 (libpng-dev).
#ifndef SKINLESION_CIMAGECODECS_SHIM_H
#define SKINLESION_CIMAGECODECS_SHIM_H
#include <turbojpeg.h>
#include <png.h>
#endif
