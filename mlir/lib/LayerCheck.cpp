//===- LayerCheck.cpp - the translation unit of a layer check --------------------------===//
//
// Empty: a layer check (lib/CMakeLists.txt) is a shared object made of one layer's archive
// linked whole with the layers it names, so that an undeclared dependency is an undefined
// symbol at build time. CMake needs one source of its own for it.
//
//===----------------------------------------------------------------------------------===//
