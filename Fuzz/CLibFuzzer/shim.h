// libFuzzer's driver, for a main of our own (SwiftPM gives every executable its own `main`, so
// libFuzzer's cannot be used). Defined in the toolchain's libclang_rt.fuzzer, which
// -sanitize=fuzzer links; see compiler-rt's FuzzerInterface.h.
#ifndef SKINLESION_CLIBFUZZER_SHIM_H
#define SKINLESION_CLIBFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
