# ESEAL_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer for everything we build.
if(ESEAL_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                        -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()
# ESEAL_FUZZ=ON: every object instrumented for libFuzzer's coverage, with ASan and UBSan.
if(ESEAL_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                        -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()
