"""PennyLane's recording with threads, as kvant leaves it (kvant.tracing.queuing_threads): a
thread's gates go into its own recording context only, whatever other threads do meanwhile."""

import threading

import pennylane as qml

import kvant  # noqa: F401  (installs the per-thread recording)


def test_another_threads_gates_and_stop_recording_leave_a_recording_intact():
    entered, silenced, closed = threading.Event(), threading.Event(), threading.Event()
    errors, recorded = [], {}

    def recorder():
        try:
            with qml.queuing.AnnotatedQueue() as q:
                qml.RX(0.1, wires=0)
                entered.set()
                assert silenced.wait(30)  # the other thread is inside stop_recording now
                qml.RY(0.2, wires=0)
            recorded["ops"] = [type(op).__name__ for op in q.queue]
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            entered.set()
            closed.set()

    def bystander():
        try:
            assert entered.wait(30)
            qml.Hadamard(wires=1)  # this thread records nothing: not the other's gate
            with qml.QueuingManager.stop_recording():
                silenced.set()
                assert closed.wait(30)  # the recorder closes its context meanwhile
        except BaseException as exc:
            errors.append(exc)
        finally:
            silenced.set()

    threads = [threading.Thread(target=recorder), threading.Thread(target=bystander)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert recorded["ops"] == ["RX", "RY"]
    # Nothing holds PennyLane's recording lock any more: a new recording can start.
    lock = qml.queuing.AnnotatedQueue._lock
    assert lock.acquire(timeout=10), "PennyLane's recording lock was left held"
    lock.release()
    with qml.queuing.AnnotatedQueue() as q:
        qml.RZ(0.3, wires=0)
    assert [type(op).__name__ for op in q.queue] == ["RZ"]


def test_stop_recording_still_works_as_a_decorator_and_nests():
    @qml.QueuingManager.stop_recording()
    def unrecorded():
        return qml.RX(1.0, wires=0)

    with qml.queuing.AnnotatedQueue() as q:
        qml.RY(0.1, wires=0)
        unrecorded()
        with qml.QueuingManager.stop_recording():
            qml.RZ(0.2, wires=0)
            with qml.queuing.AnnotatedQueue() as inner:
                qml.S(wires=0)
        qml.T(wires=0)
    assert [type(op).__name__ for op in q.queue] == ["RY", "T"]
    assert [type(op).__name__ for op in inner.queue] == ["S"]
