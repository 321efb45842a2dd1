# Writes ebin/distls.app from proxy/erlang/distls.app.src, the modules listed, as rebar3
# and mix do: with it, an installed OTP library (lib/erlang/lib/distls-VSN/ebin) is a
# complete application that releases and application:load/1 accept.
#   cmake -DSRC=distls.app.src -DOUT=ebin/distls.app -DMODULES=a,b -DVERSION=0.1.0 -P erlang_app.cmake
file(READ "${SRC}" app)
string(REPLACE "," ", " modules "${MODULES}")
string(REGEX REPLACE "\\{modules, *\\[[^]]*\\]\\}" "{modules, [${modules}]}" app "${app}")
if(NOT app MATCHES "\\{vsn, *\"${VERSION}\"\\}")
  message(FATAL_ERROR "${SRC}: vsn is not \"${VERSION}\", the project version in CMakeLists.txt")
endif()
file(WRITE "${OUT}.tmp" "${app}")
file(RENAME "${OUT}.tmp" "${OUT}")
