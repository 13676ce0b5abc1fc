// RUN: kvant-opt %s --kvant-distinct-returned-buffers | FileCheck %s
// RUN: kvant-opt %s --kvant-distinct-returned-buffers --buffer-results-to-out-params="hoist-static-allocs modify-public-functions" | FileCheck %s --check-prefix=OUT

// A buffer returned twice: the second position gets a copy of its own.
// CHECK-LABEL: func.func private @twice
// CHECK: %[[A:.*]] = memref.alloc() : memref<f64>
// CHECK: %[[C:.*]] = memref.alloc() : memref<f64>
// CHECK: memref.copy %[[A]], %[[C]]
// CHECK: return %[[A]], %[[C]]
// OUT-LABEL: func.func private @twice
// OUT-SAME: (%{{.*}}: memref<f64>, %{{.*}}: memref<f64>, %{{.*}}: memref<f64>)
func.func private @twice(%x: memref<f64>) -> (memref<f64>, memref<f64>) {
  %a = memref.alloc() : memref<f64>
  memref.copy %x, %a : memref<f64> to memref<f64>
  return %a, %a : memref<f64>, memref<f64>
}

// Dynamic sizes come from the returned buffer; the third repetition gets a second copy.
// CHECK-LABEL: func.func @thrice_dynamic
// CHECK: %[[D:.*]] = memref.dim %[[B:.*]], %{{.*}} : memref<?xf64>
// CHECK: memref.alloc(%[[D]]) : memref<?xf64>
// CHECK: memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK: return %[[B]], %{{.*}}, %{{.*}} : memref<?xf64>, memref<?xf64>, memref<?xf64>
func.func @thrice_dynamic(%b: memref<?xf64>) -> (memref<?xf64>, memref<?xf64>, memref<?xf64>) {
  return %b, %b, %b : memref<?xf64>, memref<?xf64>, memref<?xf64>
}

// Distinct results are left as they are.
// CHECK-LABEL: func.func @distinct
// CHECK-NOT: memref.alloc
// CHECK: return %arg0, %arg1
func.func @distinct(%x: memref<f64>, %y: memref<f64>) -> (memref<f64>, memref<f64>) {
  return %x, %y : memref<f64>, memref<f64>
}

// The callers of @twice, so buffer-results-to-out-params has a call to rewrite.
func.func @main(%x: memref<f64>) -> memref<f64> {
  %r:2 = call @twice(%x) : (memref<f64>) -> (memref<f64>, memref<f64>)
  return %r#0 : memref<f64>
}
