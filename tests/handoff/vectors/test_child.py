"""A fit in a child process: its result comes back, and a failure or a timeout says why and what to do."""
import pytest

from handoff.vectors import child


def test_the_childs_result_comes_back():
    verdicts = child.run("handoff.routing.triage_fit", ([], 30), timeout=120)
    assert set(verdicts) == {"priority", "category"} and verdicts["priority"].examples == 0


@pytest.mark.parametrize("module, cause, error", [
    ("handoff.no_such_module", "cause=exit", "No module named handoff.no_such_module"),
    ("this", "cause=output", "UnpicklingError"),  # the Zen of Python on stdout, not a pickle
])
def test_a_failed_child_names_the_cause_and_the_fix(module, cause, error):
    with pytest.raises(child.FitFailed) as failed:
        child.run(module, None, timeout=60)
    assert failed.value.cause.startswith(cause) and error in failed.value.cause and failed.value.fix


def test_a_child_out_of_time_is_stopped():
    with pytest.raises(child.FitFailed) as failed:
        child.run("tests.handoff.vectors.slow_child", None, timeout=1)
    assert failed.value.cause.startswith("cause=timeout") and "FIT_TIMEOUT_SECONDS" in failed.value.fix
