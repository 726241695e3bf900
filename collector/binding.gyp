{
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O2", "-fno-omit-frame-pointer", "-fvisibility=hidden", "-Wall", "-Wno-unused-function"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags!": ["-fno-exceptions"]
  },
  "targets": [
    {
      "target_name": "memview_preload",
      "type": "loadable_module",
      "product_extension": "so",
      "sources": [
        "src/preload/hooks.cpp",
        "src/preload/startup.cpp",
        "src/preload/next_allocator.cpp",
        "src/core/tracker.cpp",
        "src/core/capture_files.cpp",
        "src/core/shared_log.cpp",
        "src/core/chunk_writer.cpp",
        "src/core/deflate_raw.cpp",
        "src/core/stack_trie.cpp",
        "src/core/accessible_ranges.cpp",
        "src/core/module_map.cpp",
        "src/core/got_patch.cpp",
        "src/core/elf_symbols.cpp",
        "src/core/reused_code.cpp",
        "src/core/deferred_code.cpp",
        "src/core/native_symbols.cpp",
        "src/core/object_symbols.cpp",
        "src/core/dwarf_lines.cpp",
        "src/core/fatal_signals.cpp"
      ],
      "cflags_cc": ["-ftls-model=initial-exec"],
      "libraries": ["-ldl", "-lpthread"]
    },
    {
      "target_name": "memview",
      "sources": ["src/addon/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-ldl"]
    },
    {
      "target_name": "memview_symbols",
      "sources": ["src/addon/symbols_addon.cc", "src/core/object_symbols.cpp", "src/core/elf_symbols.cpp", "src/core/dwarf_lines.cpp"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"]
    },
    {
      "target_name": "memview-run",
      "type": "executable",
      "sources": ["src/launcher/run_launcher.cpp"],
      "cflags_cc": ["-O2"],
      "ldflags": ["-static-libstdc++", "-static-libgcc"]
    },
    {
      "target_name": "memview_counting_allocator",
      "type": "loadable_module",
      "product_extension": "so",
      "sources": ["test-addon/counting_allocator.cc"]
    },
    {
      "target_name": "memview_own_allocator",
      "type": "executable",
      "sources": ["test-addon/own_allocator.cc"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "memview_test_allocators",
      "sources": ["test-addon/test_allocators.cc", "src/core/deflate_raw.cpp", "src/core/reused_code.cpp", "src/core/deferred_code.cpp", "src/core/elf_symbols.cpp",
                  "src/core/stack_trie.cpp",
                  "src/core/dwarf_lines.cpp"],
      "cflags_cc": ["-g"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
