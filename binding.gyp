{
  # The TAP I/O addon (native/tap/tap.cc) and the checksum helper (native/checksum/checksum.cc), built by the root package's "install" script
  # (`node-gyp rebuild`) at `npm ci` / `npm install`. Output: build/Release/eop_tap.node.
  # Node-API only (plus libuv's uv_poll from the host process), so one build runs on
  # Node 20, 22 and 24 alike. On non-Linux hosts the addon builds but `open` throws.
  "targets": [
    {
      "target_name": "eop_tap",
      "sources": ["native/tap/tap.cc", "native/checksum/checksum.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      }
    }
  ]
}
