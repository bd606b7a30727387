# Toolchain file for deno_core's QuickJS backend (the v8x crate builds WAMR
# and QuickJS-ng with CMake). It makes the build offline: SIMDe comes from
# Debian's libsimde-dev instead of a download, and FetchContent never
# reaches the network.
set(FETCHCONTENT_SOURCE_DIR_SIMDE "/usr/include" CACHE PATH "SIMDe headers from libsimde-dev" FORCE)
set(FETCHCONTENT_FULLY_DISCONNECTED ON CACHE BOOL "No downloads during the build" FORCE)
