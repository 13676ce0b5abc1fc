"""Rules for JAX's dense linear algebra primitives (``lax.linalg``: lu, triangular_solve,
cholesky, eigh, svd, qr) and for ``custom_linear_solve`` and ``stop_gradient``.

The factorizations run in the runtime, which calls LAPACK (``runtime/src/Linalg.cpp``; the C
ABI is in ``runtime/include/kvant/runtime.h``). Each equation becomes a call of a private
function that reshapes its operands to a batch of matrices and calls the runtime's function
through MLIR's C interface for external functions (memref descriptors; the runtime allocates
the results, the program frees them).

Derivatives: such a function is marked ``gradient.custom_vjp`` with a second function, lowered
from the JAX code below, that maps the cotangents of its results to those of its operands
(GradientDialect.td states the convention: a complex value's cotangent is ∂L/∂x + i ∂L/∂y, so
the formulas use conjugate transposes). They are the standard reverse-mode formulas of matrix
calculus; each is derived in its docstring from the forward perturbation. The reverse sweep
then calls it instead of differentiating the LAPACK call, and since it is ordinary code made
of these primitives, it is differentiated again for higher orders.

What kvant cannot do exactly is refused by name: arrays of other dtypes than float64 and
complex128, ``subset_by_index``, QR with pivoting. Derivatives that JAX does not define either
(SVD with ``full_matrices=True``, QR of a wide matrix, LU of a non-square one) are not marked,
so ``method="auto"`` refuses to differentiate the runtime call by its name.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import core as jex_core
from mlir import ir
from mlir.dialects import arith, func, tensor

from kvant.errors import UnsupportedError
from kvant.lowering import builders as b
from kvant.lowering import types
from kvant.lowering.registry import register

_SUFFIX = {np.dtype(np.float64): "f64", np.dtype(np.complex128): "c128"}


def _suffix(primitive: str, dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype not in _SUFFIX:
        raise UnsupportedError(
            f"kvant compiles {primitive} for float64 and complex128 matrices only, not {dtype} "
            "(enable jax_enable_x64, or convert the matrix)"
        )
    return _SUFFIX[dtype]


# -- calling the runtime -------------------------------------------------------------------------


def _dynamic(rank: int, elt) -> ir.RankedTensorType:
    return ir.RankedTensorType.get([ir.ShapedType.get_dynamic_size()] * rank, elt)


def _runtime_function(lowering, name: str, in_types, out_types) -> str:
    """The external declaration of runtime function ``name`` (one per module): called through
    MLIR's C interface (``_mlir_ciface_<name>`` in the runtime), its tensors only read."""
    if name in lowering.runtime_functions:
        return name
    lowering.runtime_functions.add(name)
    lowering._symbols.add(name)  # a function kvant names is never called like this
    with ir.InsertionPoint.at_block_begin(lowering.module.body):
        fn = func.FuncOp(name, (in_types, out_types), visibility="private")
        fn.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
        read = ir.DictAttr.get({"bufferization.access": ir.StringAttr.get("read")})
        none = ir.DictAttr.get({})
        fn.arg_attrs = ir.ArrayAttr.get(
            [read if isinstance(t, ir.RankedTensorType) else none for t in in_types]
        )
    return name


def _call_runtime(lowering, name, operands, out_shapes_elts):
    """Calls runtime function ``name`` with tensors (passed with dynamic shapes) and i64 flags;
    returns its results cast to the static ``(shape, element type)`` pairs."""
    args, in_types = [], []
    for value in operands:
        if isinstance(value, int):
            value = arith.ConstantOp(ir.IntegerType.get_signless(64), value).result
            in_types.append(value.type)
        else:
            t = b.ranked(value)
            dyn = _dynamic(t.rank, t.element_type)
            value = tensor.CastOp(dyn, value).result
            in_types.append(dyn)
        args.append(value)
    out_types = [_dynamic(len(shape), elt) for shape, elt in out_shapes_elts]
    _runtime_function(lowering, name, in_types, out_types)
    call = func.CallOp(out_types, ir.FlatSymbolRefAttr.get(name), args)
    return [
        tensor.CastOp(b.tensor_of(shape, elt), r).result
        for r, (shape, elt) in zip(call.results, out_shapes_elts)
    ]


def _batched(value, aval, core_rank):
    """``value`` with its batch dimensions (all but the last ``core_rank``) flattened into one
    leading dimension."""
    core = list(aval.shape[len(aval.shape) - core_rank :])
    batch = int(np.prod(aval.shape[: len(aval.shape) - core_rank], dtype=np.int64))
    return b.reshape(value, [batch, *core])


def _linalg_call(ctx, primitive, operands, body, vjp=None, params_key=()):
    """Lowers the equation as a call of a private function whose body is ``body(args)``,
    marked ``gradient.custom_vjp`` with the function lowered from ``vjp`` (a JAX function of
    (operands, results, cotangents of float results) returning the float operands' cotangents,
    in kvant's convention), when given."""
    lowering = ctx.lowering
    avals_in, avals_out = ctx.avals_in, ctx.avals_out
    key = ("linalg", primitive, params_key, tuple((a.shape, str(a.dtype)) for a in avals_in))
    name = lowering._lowered.get(key)
    if name is None:
        attributes = {}
        if vjp is not None:
            vjp_name = _vjp_function(lowering, key, primitive, vjp, avals_in, avals_out)
            attributes["gradient.custom_vjp"] = ir.FlatSymbolRefAttr.get(vjp_name)
        jaxpr = _signature_jaxpr(avals_in, avals_out)
        name = lowering.function(
            key, f"linalg_{primitive}", jaxpr, attributes=attributes, body=body
        )
    out_types = [types.tensor_type(a) for a in avals_out]
    return list(func.CallOp(out_types, ir.FlatSymbolRefAttr.get(name), list(operands)).results)


def _signature_jaxpr(avals_in, avals_out):
    """A closed JAXPR with the given input and output avals (``ModuleLowering.function`` reads
    the signature from it; the body is built by the caller)."""
    specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in avals_in]
    return jax.make_jaxpr(lambda *_: tuple(jnp.zeros(a.shape, a.dtype) for a in avals_out))(*specs)


def _differentiable(aval) -> bool:
    return jnp.issubdtype(aval.dtype, jnp.inexact)


def _vjp_function(lowering, key, primitive, vjp, avals_in, avals_out) -> str:
    specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in (*avals_in, *avals_out)]
    specs += [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in avals_out if _differentiable(a)]
    n_in, n_out = len(avals_in), len(avals_out)

    def flat(*args):
        operands, results, cts = args[:n_in], args[n_in : n_in + n_out], list(args[n_in + n_out :])
        full_cts = [cts.pop(0) if _differentiable(a) else None for a in avals_out]
        grads = vjp(operands, results, full_cts)
        return tuple(
            jnp.asarray(g, a.dtype).reshape(a.shape)
            for g, a in zip(grads, avals_in)
            if _differentiable(a)
        )

    closed = jax.make_jaxpr(flat)(*specs)
    return lowering.function(("vjp", *key), f"linalg_{primitive}_vjp", closed)


# -- helpers of the derivative formulas (batched over leading dimensions) -------------------------


def _H(x):
    return jnp.conj(jnp.swapaxes(x, -1, -2))


def _T(x):
    return jnp.swapaxes(x, -1, -2)


def _solve_triangular(a, rhs, *, lower, left=True, op="N"):
    """op(a) X = rhs (left) or X op(a) = rhs, op ∈ N, T, H."""
    return lax.linalg.triangular_solve(
        a,
        rhs,
        left_side=left,
        lower=lower,
        transpose_a=op in ("T", "H"),
        conjugate_a=op == "H",
    )


# -- lu ------------------------------------------------------------------------------------------


def _lu_vjp(operands, results, cts):
    """A[p] = L U, packed in one matrix (L unit lower, U upper). With Φ = L⁻¹ P dA U⁻¹,
    dL = L tril₋₁(Φ) and dU = triu(Φ) U, so d(lu) = dL + dU. Reverse: for C = c̄t(lu),
    Φ̄ = tril₋₁(Lᴴ C) + triu(C Uᴴ), and Ā = Pᵀ L⁻ᴴ Φ̄ U⁻ᴴ."""
    (a,) = operands
    lu, _, perm = results
    ct = cts[0]
    n = a.shape[-1]
    eye = jnp.eye(n, dtype=a.dtype)
    lower = jnp.tril(lu, -1) + eye
    upper = jnp.triu(lu)
    phi = jnp.tril(_H(lower) @ jnp.tril(ct, -1), -1) + jnp.triu(jnp.triu(ct) @ _H(upper))
    x = _solve_triangular(lower, phi, lower=True, op="H")  # L⁻ᴴ Φ̄ (unit diagonal in effect)
    x = _solve_triangular(upper, x, lower=False, left=False, op="H")  # · U⁻ᴴ
    # rows back: Ā[p[i]] = x[i]
    inverse = jnp.argsort(perm, axis=-1)
    return (jnp.take_along_axis(x, inverse[..., :, None], axis=-2),)


@register("lu")
def _lu(ctx, a):
    (aval,) = ctx.avals_in
    *batch, m, n = aval.shape
    suffix = _suffix("lu", aval.dtype)
    elt = types.element_type(aval.dtype)
    i32 = ir.IntegerType.get_signless(32)
    k = min(m, n)
    count = int(np.prod(batch, dtype=np.int64))

    def body(args):
        outs = _call_runtime(
            ctx.lowering,
            f"kvant_rt_lu_{suffix}",
            [_batched(args[0], aval, 2)],
            [([count, m, n], elt), ([count, k], i32), ([count, m], i32)],
        )
        return [b.reshape(v, list(o.shape)) for v, o in zip(outs, ctx.avals_out)]

    return _linalg_call(ctx, "lu", [a], body, vjp=_lu_vjp if m == n else None)


@register("lu_pivots_to_permutation")
def _lu_pivots_to_permutation(ctx, pivots, *, permutation_size):
    (aval,) = ctx.avals_in

    def swaps(piv):
        def step(i, perm):
            j = piv[i]
            pi, pj = perm[i], perm[j]
            return perm.at[i].set(pj).at[j].set(pi)

        return lax.fori_loop(0, piv.shape[0], step, jnp.arange(permutation_size, dtype=piv.dtype))

    fn = swaps
    for _ in range(aval.ndim - 1):
        fn = jax.vmap(fn)
    closed = jax.make_jaxpr(fn)(jax.ShapeDtypeStruct(aval.shape, aval.dtype))
    return ctx.lowering.lower_jaxpr(closed.jaxpr, closed.consts, [pivots], ctx.quantum)


# -- triangular_solve ------------------------------------------------------------------------------


def _op_code(transpose_a, conjugate_a):
    if transpose_a:
        return 2 if conjugate_a else 1
    return 3 if conjugate_a else 0


def _triangular_solve_vjp(left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    """op(A) X = B: dX = op(A)⁻¹ (dB − op(dA) X), so B̄ = op(A)⁻ᴴ X̄ and op(A)‾ = −B̄ Xᴴ
    (right side, X op(A) = B: B̄ = X̄ op(A)⁻ᴴ, op(A)‾ = −Xᴴ B̄); Ā is op(A)‾ taken back through
    op and restricted to the triangle the solve reads (without the diagonal when it is
    unit)."""
    op = "H" if transpose_a and conjugate_a else "T" if transpose_a else "N"

    def vjp(operands, results, cts):
        a, _ = operands
        (x,) = results
        (ct,) = cts
        if conjugate_a and not transpose_a:
            # op(A) = conj(A): op(A)⁻ᴴ = A⁻ᵀ
            a_eff, adj = a, "T"
        else:
            a_eff, adj = a, {"N": "H", "T": "C", "H": "N"}[op]
        if adj == "C":  # (Aᵀ)⁻ᴴ = conj(A)⁻¹: solve with A on the conjugated right-hand side
            b_bar = jnp.conj(_solve_triangular(a_eff, jnp.conj(ct), lower=lower, left=left_side))
        else:
            b_bar = _solve_triangular(a_eff, ct, lower=lower, left=left_side, op=adj)
        op_bar = -(b_bar @ _H(x)) if left_side else -(_H(x) @ b_bar)
        if transpose_a and conjugate_a:
            a_bar = _H(op_bar)
        elif transpose_a:
            a_bar = _T(op_bar)
        elif conjugate_a:
            a_bar = jnp.conj(op_bar)
        else:
            a_bar = op_bar
        a_bar = (
            jnp.tril(a_bar, -1 if unit_diagonal else 0)
            if lower
            else jnp.triu(a_bar, 1 if unit_diagonal else 0)
        )
        return a_bar, b_bar

    return vjp


@register("triangular_solve")
def _triangular_solve(ctx, a, rhs, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    a_aval, b_aval = ctx.avals_in
    suffix = _suffix("triangular_solve", a_aval.dtype)
    if b_aval.dtype != a_aval.dtype:
        raise UnsupportedError("triangular_solve of matrices of different dtypes")
    elt = types.element_type(a_aval.dtype)
    rows, cols = b_aval.shape[-2:]
    count = int(np.prod(b_aval.shape[:-2], dtype=np.int64))

    def body(args):
        (x,) = _call_runtime(
            ctx.lowering,
            f"kvant_rt_triangular_solve_{suffix}",
            [
                _batched(args[0], a_aval, 2),
                _batched(args[1], b_aval, 2),
                int(bool(left_side)),
                int(bool(lower)),
                _op_code(transpose_a, conjugate_a),
                int(bool(unit_diagonal)),
            ],
            [([count, rows, cols], elt)],
        )
        return [b.reshape(x, list(b_aval.shape))]

    params = (left_side, lower, transpose_a, conjugate_a, unit_diagonal)
    return _linalg_call(
        ctx,
        "triangular_solve",
        [a, rhs],
        body,
        vjp=_triangular_solve_vjp(*params),
        params_key=params,
    )


# -- cholesky ------------------------------------------------------------------------------------


def _cholesky_vjp(operands, results, cts):
    """A = L Lᴴ: dL = L Φ(L⁻¹ dA L⁻ᴴ), Φ = lower triangle with the diagonal halved (a real
    mask, its own adjoint); so Ā = L⁻ᴴ Φ(Lᴴ L̄) L⁻¹."""
    (l,) = results
    (ct,) = cts
    n = l.shape[-1]
    phi = jnp.tril(_H(l) @ ct) * (1 - 0.5 * jnp.eye(n, dtype=l.real.dtype))
    x = _solve_triangular(l, phi, lower=True, op="H")  # L⁻ᴴ Φ
    return (_solve_triangular(l, x, lower=True, left=False),)  # · L⁻¹


@register("cholesky")
def _cholesky(ctx, a, *, symmetrize_input=False):
    (aval,) = ctx.avals_in
    suffix = _suffix("cholesky", aval.dtype)
    elt = types.element_type(aval.dtype)
    n = aval.shape[-1]
    count = int(np.prod(aval.shape[:-2], dtype=np.int64))

    def body(args):
        (l,) = _call_runtime(
            ctx.lowering,
            f"kvant_rt_cholesky_{suffix}",
            [_batched(args[0], aval, 2)],
            [([count, n, n], elt)],
        )
        return [b.reshape(l, list(aval.shape))]

    return _linalg_call(ctx, "cholesky", [a], body, vjp=_cholesky_vjp)


# -- eigh ----------------------------------------------------------------------------------------


def _eigh_vjp(operands, results, cts):
    """A = V diag(w) Vᴴ. With M = Vᴴ dA V: dw = Re diag(M), dV = V (F ∘ M), F_ij =
    1/(w_j − w_i) off the diagonal and 0 on it. Reverse: M̄ = diag(w̄) + F ∘ (Vᴴ V̄), and
    Ā = V M̄ Vᴴ."""
    v, w = results
    v_bar, w_bar = cts
    n = w.shape[-1]
    eye = jnp.eye(n, dtype=w.dtype)
    f = 1.0 / (eye + w[..., None, :] - w[..., :, None]) - eye
    m_bar = (f * (_H(v) @ v_bar)) + jnp.einsum("...i,ij->...ij", w_bar, eye)
    return (v @ m_bar.astype(v.dtype) @ _H(v),)


@register("eigh")
def _eigh(ctx, a, *, lower, sort_eigenvalues, subset_by_index=None, **params):
    (aval,) = ctx.avals_in
    n = aval.shape[-1]
    if subset_by_index is not None and tuple(subset_by_index) != (0, n):
        raise UnsupportedError("kvant computes eigh with all eigenvalues only (subset_by_index)")
    suffix = _suffix("eigh", aval.dtype)
    elt = types.element_type(aval.dtype)
    count = int(np.prod(aval.shape[:-2], dtype=np.int64))

    def body(args):
        v, w = _call_runtime(
            ctx.lowering,
            f"kvant_rt_eigh_{suffix}",
            [_batched(args[0], aval, 2), int(bool(lower))],
            [([count, n, n], elt), ([count, n], ir.F64Type.get())],
        )
        return [b.reshape(v, list(aval.shape)), b.reshape(w, list(ctx.avals_out[1].shape))]

    # LAPACK's eigenvalues are ascending, sorted or not asked
    return _linalg_call(ctx, "eigh", [a], body, vjp=_eigh_vjp, params_key=(lower,))


# -- svd -----------------------------------------------------------------------------------------


def _svd_vjp_from_vectors(a, s, u, vt, s_bar, u_bar, vt_bar):
    """Thin SVD A = U diag(s) Vᴴ, k = min(m, n). With dS = Uᴴ dA V (k x k), F_ij =
    1/(s_j² − s_i²) off the diagonal (0 on it):
      ds = Re diag(dS),
      dU = U (F ∘ (dS S + (dS S)ᴴ) + ½ I ∘ (dS − dSᴴ) S⁻¹) + (I − U Uᴴ) dA V S⁻¹   (m > n),
      dV = V (F ∘ (S dS + (S dS)ᴴ)) + (I − V Vᴴ) dAᴴ U S⁻¹                       (n > m).
    Each term reversed in turn (F and the masks are real, so their own adjoints):
      with G = Uᴴ Ū, H = Vᴴ V̄, Y = F ∘ G, W = F ∘ H, Z = ½ I ∘ G S⁻¹:
      dS̄ = diag(s̄) + (Y + Yᴴ) S + S (W + Wᴴ) + Z − Zᴴ,
      Ā = U dS̄ Vᴴ + (I − U Uᴴ) Ū S⁻¹ Vᴴ (m > n) + U S⁻¹ V̄ᴴ (I − V Vᴴ) (n > m)."""
    m, n = a.shape[-2:]
    k = s.shape[-1]
    v = _H(vt)
    dtype = a.dtype
    eye = jnp.eye(k, dtype=s.dtype)
    s_row = s[..., None, :]
    diffs = (s_row + _T(s_row)) * (s_row - _T(s_row))
    f = (1.0 / (diffs + eye) - eye).astype(dtype)
    s_c = s.astype(dtype)
    s_bar_c = jnp.zeros_like(s_c) if s_bar is None else s_bar.astype(dtype)
    ds_bar = jnp.einsum("...i,ij->...ij", s_bar_c, eye.astype(dtype))
    if u_bar is not None:
        g = _H(u) @ u_bar
        y = f * g
        ds_bar = ds_bar + (y + _H(y)) * s_c[..., None, :]
        zeros_s = (s == 0).astype(s.dtype)
        s_inv = (1 / (s + zeros_s) - zeros_s).astype(dtype)
        z = 0.5 * eye.astype(dtype) * g * s_inv[..., None, :]
        ds_bar = ds_bar + z - _H(z)
    if vt_bar is not None:
        v_bar = _H(vt_bar)
        h = _H(v) @ v_bar
        wm = f * h
        ds_bar = ds_bar + s_c[..., :, None] * (wm + _H(wm))
    a_bar = u @ ds_bar @ vt
    if u_bar is not None and m > n:
        proj = u_bar - u @ (_H(u) @ u_bar)
        a_bar = a_bar + (proj / s_c[..., None, :]) @ vt
    if vt_bar is not None and n > m:
        v_bar = _H(vt_bar)
        proj = v_bar - v @ (_H(v) @ v_bar)
        a_bar = a_bar + u @ (_H(proj) / s_c[..., :, None])
    return a_bar


def _svd_vjp(compute_uv):
    def vjp(operands, results, cts):
        (a,) = operands
        if compute_uv:
            s, u, vt = results
            s_bar, u_bar, vt_bar = cts
        else:
            # the vectors are needed: a thin SVD (its own rule, differentiable again)
            u, s, vt = jnp.linalg.svd(a, full_matrices=False)
            (s_bar,) = cts
            u_bar = vt_bar = None
        return (_svd_vjp_from_vectors(a, s, u, vt, s_bar, u_bar, vt_bar),)

    return vjp


@register("svd")
def _svd(ctx, a, *, full_matrices, compute_uv, subset_by_index=None, algorithm=None):
    (aval,) = ctx.avals_in
    *batch, m, n = aval.shape
    k = min(m, n)
    if subset_by_index is not None and tuple(subset_by_index) != (0, k):
        raise UnsupportedError("kvant computes svd with all singular values only (subset_by_index)")
    suffix = _suffix("svd", aval.dtype)
    elt = types.element_type(aval.dtype)
    f64 = ir.F64Type.get()
    count = int(np.prod(batch, dtype=np.int64))

    def body(args):
        a_b = _batched(args[0], aval, 2)
        if not compute_uv:
            (s,) = _call_runtime(
                ctx.lowering, f"kvant_rt_svd_values_{suffix}", [a_b], [([count, k], f64)]
            )
            return [b.reshape(s, list(ctx.avals_out[0].shape))]
        u_cols, vt_rows = (m, n) if full_matrices else (k, k)
        s, u, vt = _call_runtime(
            ctx.lowering,
            f"kvant_rt_svd_{suffix}",
            [a_b, 2 if full_matrices else 1],
            [([count, k], f64), ([count, m, u_cols], elt), ([count, vt_rows, n], elt)],
        )
        return [b.reshape(v, list(o.shape)) for v, o in zip((s, u, vt), ctx.avals_out)]

    differentiable = not (compute_uv and full_matrices and m != n)
    return _linalg_call(
        ctx,
        "svd",
        [a],
        body,
        vjp=_svd_vjp(compute_uv) if differentiable else None,
        params_key=(full_matrices, compute_uv),
    )


# -- qr ------------------------------------------------------------------------------------------


def _qr_vjp(operands, results, cts):
    """A = Q R (m ≥ n, thin). With K = dA R⁻¹, C = Qᴴ K, Ω = tril₋₁(C) − tril₋₁(C)ᴴ +
    I ∘ (C − Re C): dQ = Q (Ω − C) + K, dR = (C − Ω) R. Reverse, with A₁ = R̄ Rᴴ,
    A₂ = Qᴴ Q̄ and B = A₂ − A₁: C̄ = A₁ − A₂ + tril₋₁(B − Bᴴ) + I ∘ (B − Re B), K̄ = Q̄ + Q C̄,
    Ā = K̄ R⁻ᴴ."""
    q, r = results
    q_bar, r_bar = cts
    n = r.shape[-1]
    a1 = r_bar @ _H(r)
    a2 = _H(q) @ q_bar
    bm = a2 - a1
    eye = jnp.eye(n, dtype=q.dtype)
    c_bar = a1 - a2 + jnp.tril(bm - _H(bm), -1) + eye * (bm - bm.real.astype(bm.dtype))
    k_bar = q_bar + q @ c_bar
    return (_solve_triangular(r, k_bar, lower=False, left=False, op="H"),)


@register("qr")
def _qr(ctx, a, *, full_matrices, pivoting=False, use_magma=None):
    (aval,) = ctx.avals_in
    if pivoting:
        raise UnsupportedError("kvant computes qr without pivoting only")
    *batch, m, n = aval.shape
    k = min(m, n)
    suffix = _suffix("qr", aval.dtype)
    elt = types.element_type(aval.dtype)
    count = int(np.prod(batch, dtype=np.int64))
    q_cols, r_rows = (m, m) if full_matrices else (k, k)

    def body(args):
        q, r = _call_runtime(
            ctx.lowering,
            f"kvant_rt_qr_{suffix}",
            [_batched(args[0], aval, 2), int(bool(full_matrices))],
            [([count, m, q_cols], elt), ([count, r_rows, n], elt)],
        )
        return [b.reshape(v, list(o.shape)) for v, o in zip((q, r), ctx.avals_out)]

    differentiable = m >= n and not (full_matrices and m != n)
    return _linalg_call(
        ctx, "qr", [a], body, vjp=_qr_vjp if differentiable else None, params_key=(full_matrices,)
    )


# -- stop_gradient ---------------------------------------------------------------------------------


@register("stop_gradient")
def _stop_gradient(ctx, x):
    """The identity, as a call of a function whose derivative is zero."""
    (aval,) = ctx.avals_in
    if not _differentiable(aval):
        return x

    def vjp(operands, results, cts):
        return (jnp.zeros(aval.shape, aval.dtype),)

    return _linalg_call(ctx, "stop_gradient", [x], lambda args: [args[0]], vjp=vjp)[0]


# -- custom_linear_solve ---------------------------------------------------------------------------


@register("custom_linear_solve")
def _custom_linear_solve(ctx, *args, const_lengths, jaxprs):
    """x = solve(b), differentiated implicitly (A x = b): b̄ = A⁻ᴴ x̄ = conj(transpose_solve(
    conj(x̄))), and the constants c of matvec (A x = matvec(c, x)) get
    c̄ = −∂_c Re⟨λ, matvec(c, x)⟩ at λ = b̄ (kvant's reverse mode computes that gradient); the
    constants of the solves carry no derivative, as in JAX."""
    from kvant.tracing.primitives import grad_p

    n_consts = sum(const_lengths)
    num_b = len(args) - n_consts
    if len(jaxprs.solve.out_avals) != len(jaxprs.matvec.out_avals):
        raise UnsupportedError("kvant cannot compile custom_linear_solve with auxiliary outputs")
    if jaxprs.transpose_solve is None:
        raise UnsupportedError("kvant compiles custom_linear_solve with a transpose_solve only")
    offsets = np.cumsum([0, *const_lengths])
    matvec_idx = list(range(offsets[0], offsets[1]))
    solve_idx = list(range(offsets[2], offsets[3]))
    tsolve_idx = list(range(offsets[3], offsets[4]))
    avals_in = ctx.avals_in

    def body(block_args):
        closed = jaxprs.solve
        ins = [block_args[i] for i in solve_idx] + list(block_args[n_consts:])
        return ctx.lowering.lower_jaxpr(closed.jaxpr, closed.consts, ins)

    def vjp(operands, results, cts):
        x_bar = [jnp.zeros(r.shape, r.dtype) if c is None else c for r, c in zip(results, cts)]
        conj = [jnp.conj(c) for c in x_bar]
        lam = jex_core.jaxpr_as_fun(jaxprs.transpose_solve)(
            *[operands[i] for i in tsolve_idx], *conj
        )
        lam = [jnp.conj(v) for v in lam]
        grads = [None] * len(operands)
        for j in range(num_b):
            grads[n_consts + j] = lam[j]
        diff = [i for i in matvec_idx if _differentiable(avals_in[i])]
        if diff:
            matvec_consts = [operands[i] for i in matvec_idx]

            # gradient.grad differentiates real arguments: a complex constant enters as its
            # real and imaginary parts, and its cotangent is ∂L/∂re + i ∂L/∂im
            complex_const = [jnp.iscomplexobj(c) for c in matvec_consts]
            parts = []
            for c, is_complex in zip(matvec_consts, complex_const):
                parts += [jnp.real(c), jnp.imag(c)] if is_complex else [c]

            def pairing(*args):
                cs, k = [], 0
                for is_complex in complex_const:
                    cs.append(args[k] + 1j * args[k + 1] if is_complex else args[k])
                    k += 2 if is_complex else 1
                xs, lams = args[k : k + num_b], args[k + num_b :]
                ax = jex_core.jaxpr_as_fun(jaxprs.matvec)(*cs, *xs)
                return sum(jnp.real(jnp.vdot(lv, av)) for lv, av in zip(lams, ax))

            inputs = [*parts, *results, *lam]
            closed = jax.make_jaxpr(pairing)(*inputs)
            positions, k = {}, 0
            for i, is_complex in zip(matvec_idx, complex_const):
                if i in diff:
                    positions[i] = (k, k + 1) if is_complex else (k,)
                k += 2 if is_complex else 1
            flat_positions = tuple(p for i in diff for p in positions[i])
            cts_c = iter(
                grad_p.bind(
                    *inputs,
                    jaxpr=closed,
                    method="auto",
                    h=None,
                    diff_args=flat_positions,
                    name="linear_solve_matvec",
                    with_values=False,
                    num_diff_outputs=None,
                )
            )
            for i in diff:
                g = next(cts_c)
                if len(positions[i]) == 2:
                    g = g + 1j * next(cts_c)
                grads[i] = -g
        return [jnp.zeros(a.shape, a.dtype) if g is None else g for g, a in zip(grads, avals_in)]

    return _linalg_call(
        ctx, "custom_linear_solve", list(args), body, vjp=vjp, params_key=(id(jaxprs),)
    )


# -- derivatives kvant does not build --------------------------------------------------------------


def _no_derivative(eqn) -> str | None:
    """Why the equation's result has no reverse-mode derivative here (as in JAX), or None."""
    name, params = eqn.primitive.name, eqn.params
    if name in ("svd", "qr", "lu"):
        m, n = eqn.invars[0].aval.shape[-2:]
    if name == "svd" and params["compute_uv"] and params["full_matrices"] and m != n:
        return "the singular vectors of svd with full_matrices=True (use full_matrices=False)"
    if name == "qr" and (m < n or (params["full_matrices"] and m != n)):
        return "qr of a wide matrix, or with full_matrices=True of a non-square one"
    if name == "lu" and m != n:
        return "lu of a non-square matrix"
    return None


def _sub_jaxprs(params):
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            inner = getattr(item, "jaxpr", item)  # a ClosedJaxpr's JAXPR, or a JAXPR
            if hasattr(inner, "eqns") and hasattr(inner, "invars"):
                yield inner


def dependent_equations(jaxpr, diff_positions):
    """The equations of ``jaxpr`` (a closed JAXPR or a JAXPR) that a value computed from the
    inputs at ``diff_positions`` reaches, in program order; inside calls and control flow every
    input counts as differentiated (each equation is followed by those of its sub-JAXPRs)."""

    def walk(jaxpr, dependent):
        dep = {v for v, d in zip(jaxpr.invars, dependent) if d}
        for eqn in jaxpr.eqns:
            if not any(not isinstance(v, jex_core.Literal) and v in dep for v in eqn.invars):
                continue
            yield eqn
            for sub in _sub_jaxprs(eqn.params):
                yield from walk(sub, [True] * len(sub.invars))
            dep.update(eqn.outvars)

    inner = jaxpr.jaxpr if hasattr(jaxpr, "jaxpr") else jaxpr
    positions = set(diff_positions)
    yield from walk(inner, [i in positions for i in range(len(inner.invars))])


def refuse_missing_derivatives(jaxpr, diff_positions, kind: str) -> None:
    """Raises UnsupportedError, naming the primitive, when a value computed from the
    differentiated inputs of ``jaxpr`` (a closed JAXPR) passes through a linear-algebra
    primitive that has no derivative rule (``_no_derivative``): method="auto" would otherwise
    fail in the compiler on the runtime call."""
    for eqn in dependent_equations(jaxpr, diff_positions):
        reason = _no_derivative(eqn)
        if reason:
            raise UnsupportedError(f"{kind}: kvant cannot differentiate {reason}")
