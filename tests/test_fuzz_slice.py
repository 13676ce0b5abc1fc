"""A fixed slice of the differential fuzzer (tests/fuzz): a few seeds per mode, every feature
except those in ``KNOWN_BROKEN`` (each named there with why). ``make fuzz`` runs the long
campaign over everything.

Each program runs in a worker process with a timeout, as in the campaign, so a crash or a hang
fails its test instead of ending the run. A mismatch or crash fails with the program's seed and
what differed; ``python -m tests.fuzz --mode <mode> --seeds <seed>`` shrinks it to a test.
Refusals pass here (the campaign's summary lists them for a human to judge).
"""

from __future__ import annotations

import pytest

from tests.fuzz.campaign import Pool
from tests.fuzz.generate import FEATURES, KNOWN_BROKEN, generate

# 16 seeds per mode: about a minute on an idle 2-core machine, well under 3 on a loaded one
SEEDS = {"forward": range(0, 16), "derivatives": range(0, 16)}
FEATURES_IN_CI = sorted(set(FEATURES) - set(KNOWN_BROKEN))


@pytest.fixture(scope="module")
def pool():
    p = Pool(jobs=1, timeout=90)
    yield p
    p.close()


@pytest.mark.parametrize("mode,seed", [(m, s) for m, seeds in SEEDS.items() for s in seeds])
def test_fuzz_program_matches_default_qubit(pool, mode, seed):
    program = generate(seed, mode, FEATURES_IN_CI)
    outcome = pool.evaluate(program)
    assert not outcome.failed(), (
        f"{mode} seed {seed}: {outcome.cls}: {outcome.detail}\n"
        f"shrink it: python -m tests.fuzz --mode {mode} --seeds {seed} --features stable\n\n"
        + program.render()
    )
    assert outcome.cls in ("match", "refusal", "expected", "undefined"), (
        f"{outcome.cls}: {outcome.detail}"
    )


def test_generation_is_deterministic_and_rendered_programs_compile():
    for mode in SEEDS:
        for seed in range(40):
            a, b = generate(seed, mode), generate(seed, mode)
            assert a.render() == b.render()
            compile(a.render(), f"<seed {seed}>", "exec")


def test_shrinker_reduces_to_the_failing_construct():
    """The shrinker against a stand-in failure ("the program applies a CNOT"), so it is tested
    without kvant: the result still fails, is much smaller, and prints as a runnable test."""
    from tests.fuzz.program import Gate, walk_ops
    from tests.fuzz.run import Outcome
    from tests.fuzz.shrink import shrink, size, to_pytest

    def applies_cnot(p):
        return any(
            isinstance(op, Gate) and op.name == "CNOT" for q in p.qnodes for op in walk_ops(q.body)
        )

    def evaluate(p):
        return Outcome("mismatch", "stand-in", "cnot") if applies_cnot(p) else Outcome("match")

    seed = next(
        s
        for s in range(200)
        if applies_cnot(generate(s, "forward")) and len(generate(s, "forward").qnodes) > 1
    )
    program = generate(seed, "forward")
    small, outcome, spent = shrink(program, evaluate(program), evaluate, budget=2000)
    assert applies_cnot(small) and outcome.cls == "mismatch"
    assert len(small.qnodes) == 1 and size(small) < size(program) / 3
    ops = list(walk_ops(small.qnodes[0].body))
    assert len(ops) == 1, ops
    text = to_pytest(small, outcome)
    compile(text, "<shrunk>", "exec")
    assert text.startswith(f"def test_fuzz_forward_seed_{seed}():") and "qml.CNOT" in text
