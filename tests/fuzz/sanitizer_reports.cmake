# cmake -DDIR=<dir> [-DRESET=1] -P sanitizer_reports.cmake
# RESET: empties DIR, where sanitized processes write their reports (log_path=DIR/...).
# Otherwise: prints every report in DIR and fails if there is one.
if(RESET)
  file(REMOVE_RECURSE ${DIR})
  file(MAKE_DIRECTORY ${DIR})
  return()
endif()
file(GLOB reports ${DIR}/*)
if(NOT reports)
  message(STATUS "no sanitizer reports in ${DIR}")
  return()
endif()
foreach(report ${reports})
  file(READ ${report} text)
  message("==== ${report}\n${text}")
endforeach()
list(LENGTH reports n)
message(FATAL_ERROR "${n} sanitizer report(s) in ${DIR} (file names: <test>.<pid>)")
