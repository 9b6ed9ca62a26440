"""Every example in corpus/ trips exactly the policies it names: each bad example is
flagged by the rule it is about (and by nothing unrelated), no good example by any."""

from __future__ import annotations

import pytest

from tests.policies.corpus import Case, cases
from tests.policies.harness import Pack, policy_names

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case_trips_exactly_its_policies(case: Case) -> None:
    findings = Pack(case.config).check(case.resources)

    assert policy_names(findings) == case.flags, "\n".join(f"{f.policy}: {f.message}" for f in findings)
