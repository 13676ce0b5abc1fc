// RUN: kvant-opt %s --kvant-lower-strided-copies | FileCheck %s

// A copy out of a strided view becomes linalg.copy (loops later, no memrefCopy call).
// CHECK-LABEL: func.func @strided
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%{{.*}} : memref<2x2xf64, strided<[4, 1], offset: 1>>) outs(%{{.*}} : memref<2x2xf64>)
func.func @strided(%src: memref<3x4xf64>, %dst: memref<2x2xf64>) {
  %view = memref.subview %src[0, 1] [2, 2] [1, 1] : memref<3x4xf64> to memref<2x2xf64, strided<[4, 1], offset: 1>>
  memref.copy %view, %dst : memref<2x2xf64, strided<[4, 1], offset: 1>> to memref<2x2xf64>
  return
}

// A contiguous copy stays a memref.copy (it lowers to llvm.memcpy).
// CHECK-LABEL: func.func @contiguous
// CHECK: memref.copy
// CHECK-NOT: linalg.copy
func.func @contiguous(%src: memref<3x4xf64>, %dst: memref<3x4xf64>) {
  memref.copy %src, %dst : memref<3x4xf64> to memref<3x4xf64>
  return
}
