"""shared/ids.py: money ids are derived from domain ids, so every retry names the same operation;
new ids never repeat."""
from __future__ import annotations

from shared.ids import hold_id_for, new_id, new_task_id, topup_op_id


def test_a_task_always_names_the_same_hold():
    assert hold_id_for("task_abc") == hold_id_for("task_abc") == "hold_task_abc"
    assert hold_id_for("task_abc") != hold_id_for("task_abd")


def test_a_topup_request_always_names_the_same_operation():
    assert topup_op_id("usr_1", "req_9") == topup_op_id("usr_1", "req_9") == "topup:usr_1:req_9"
    assert topup_op_id("usr_1", "req_9") != topup_op_id("usr_2", "req_9")  # one user's id is not another's


def test_new_ids_carry_their_prefix_and_never_repeat():
    tasks = {new_task_id() for _ in range(1000)}
    assert len(tasks) == 1000 and all(t.startswith("task_") for t in tasks)
    keys = {new_id("key") for _ in range(1000)}
    assert len(keys) == 1000 and all(k.startswith("key_") for k in keys)
