# Warnings are the first reviewer (STYLE.md 13). ESEAL_WERROR turns them into errors (CI does).
set(ESEAL_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wsign-compare -Wformat=2 -Wcast-qual -Wundef -Wvla
    -Wwrite-strings -Wimplicit-fallthrough -Wmissing-declarations -Wold-style-definition)
if(ESEAL_WERROR)
    list(APPEND ESEAL_WARNINGS -Werror)
endif()

# eseal_library(NAME SOURCES... DEPS ...) / eseal_program(NAME ...): one place for flags.
function(eseal_apply_flags target)
    target_compile_options(${target} PRIVATE ${ESEAL_WARNINGS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
