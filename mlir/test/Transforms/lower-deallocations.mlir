// RUN: kvant-opt %s --kvant-lower-deallocations | FileCheck %s

// Two candidate buffers, one retained value: scalar alias checks, a conditional free each,
// and no i1 memref anywhere.
// CHECK-LABEL: func.func @general
// CHECK-NOT: memref<{{.*}}xi1>
// CHECK-COUNT-3: memref.extract_aligned_pointer_as_index
// CHECK: scf.if
// CHECK-NEXT: memref.dealloc %{{.*}} : memref<2xf64>
// CHECK: scf.if
// CHECK-NEXT: memref.dealloc %{{.*}} : memref<2xf64>
// CHECK-NOT: bufferization.dealloc
// CHECK: return %{{.*}} : i1
func.func @general(%a: memref<2xf64>, %b: memref<2xf64>, %r: memref<2xf64>, %ca: i1, %cb: i1) -> i1 {
  %own = bufferization.dealloc (%a, %b : memref<2xf64>, memref<2xf64>) if (%ca, %cb) retain (%r : memref<2xf64>)
  return %own : i1
}

// Results of two different allocation ops are different buffers: only the pairs with the
// argument %m are compared, not %a with %b (hundreds of temporaries made the checks quadratic).
// CHECK-LABEL: func.func @distinct_allocations
// CHECK-COUNT-2: arith.cmpi eq
// CHECK-NOT: arith.cmpi
// CHECK: return
func.func @distinct_allocations(%m: memref<2xf64>, %c: i1) {
  %a = memref.alloc() : memref<2xf64>
  %b = memref.alloc() : memref<2xf64>
  bufferization.dealloc (%a, %b, %m : memref<2xf64>, memref<2xf64>, memref<2xf64>) if (%c, %c, %c)
  return
}
