"""The short pass of `make soak` (tests/soak.py runs the long one): mutated media, a hostile
camera tree and every kind of tampering, through the real command line."""

from __future__ import annotations

import pytest

from tests.conftest import make_dock
from tests.hostile import TAMPERS, camera_faults, hostile_media, hostile_tree, tamper

pytestmark = pytest.mark.soak  # a longer proof: `make soak`


def test_hostile_media_is_stored_byte_for_byte_with_a_status(tmp_path):
    dock = make_dock(tmp_path)
    outcome = hostile_media(tmp_path / "work", dock.env, count=48)
    assert outcome.failures == [] and outcome.states == 48


def test_a_hostile_tree_reads_nothing_outside_and_nothing_special(tmp_path):
    dock = make_dock(tmp_path)
    outcome = hostile_tree(tmp_path / "work", dock.env, files=300)
    assert outcome.failures == [], outcome.failures


def test_every_kind_of_tampering_is_named(tmp_path):
    dock = make_dock(tmp_path)
    outcome = tamper(tmp_path / "work", dock.env, rounds=len(TAMPERS))
    assert outcome.iterations == len(TAMPERS) and outcome.failures == [], outcome.failures


def test_camera_read_errors_and_unplugs_lose_nothing(tmp_path):
    dock = make_dock(tmp_path)
    outcome = camera_faults(tmp_path / "work", dock.env, rounds=3)
    assert outcome.iterations == 3 and outcome.failures == [], outcome.failures
