# ctest kvant-dialect-docs: the dialect reference committed under docs/dialects/ must be what
# the .td files generate now. Called with -DGENERATED=<build docs> -DCOMMITTED=<docs/dialects>
# -DPAGES=<file;file;...>.
set(stale)
foreach(page IN LISTS PAGES)
  if(NOT EXISTS "${GENERATED}/${page}")
    message(FATAL_ERROR "${GENERATED}/${page} was not generated: build the kvant-doc target")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files --ignore-eol
                          "${GENERATED}/${page}" "${COMMITTED}/${page}"
                  RESULT_VARIABLE differs OUTPUT_QUIET ERROR_QUIET)
  if(differs)
    list(APPEND stale "${page}")
  endif()
endforeach()
if(stale)
  list(JOIN stale ", " stale)
  message(FATAL_ERROR "docs/dialects/ is out of date (${stale}): a .td file changed; run "
                      "`cmake --build <build dir> --target kvant-doc-update` and commit the pages")
endif()
message(STATUS "docs/dialects/ matches the .td files")
