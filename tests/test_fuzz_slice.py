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

SEEDS = {"forward": range(0, 24), "derivatives": range(0, 24)}
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
        + program.render())
    assert outcome.cls in ("match", "refusal", "undefined"), f"{outcome.cls}: {outcome.detail}"


def test_generation_is_deterministic_and_rendered_programs_compile():
    for mode in SEEDS:
        for seed in range(40):
            a, b = generate(seed, mode), generate(seed, mode)
            assert a.render() == b.render()
            compile(a.render(), f"<seed {seed}>", "exec")
