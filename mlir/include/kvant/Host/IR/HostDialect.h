//===- HostDialect.h - the `host` dialect ----------------------------------------------===//
#ifndef KVANT_HOST_IR_HOSTDIALECT_H
#define KVANT_HOST_IR_HOSTDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kvant/Host/IR/HostDialect.h.inc"

#endif // KVANT_HOST_IR_HOSTDIALECT_H
