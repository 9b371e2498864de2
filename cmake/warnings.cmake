# fdo_warnings: applied to our own targets only (docs/style.md §11).
add_library(fdo_warnings INTERFACE)
target_compile_options(fdo_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(FDO_WERROR)
  target_compile_options(fdo_warnings INTERFACE -Werror)
endif()
