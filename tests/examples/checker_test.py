#!/usr/bin/env python3
"""The check of run_example_test.py catches each kind of bad worker (synthetic logs)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_example_test import LEASE_S, check  # noqa: E402

TERMS = [[10.0, 20.0], [30.0, 40.0]]


class CheckTest(unittest.TestCase):
    def test_a_gated_worker_passes_with_its_lags(self):
        units = [[10.005, 10.2], [19.9, 20.1], [30.001, 30.2]]
        violations, lags = check(TERMS, units, stopped_at=50.0)
        self.assertEqual(violations, [])
        self.assertEqual(len(lags), 2)
        self.assertAlmostEqual(lags[0][2], 0.005)  # began 5 ms after leading
        self.assertAlmostEqual(lags[0][3], 0.1)  # ended 100 ms after it stopped
        self.assertAlmostEqual(lags[1][3], 0.2 - 10.0)

    def test_work_before_the_daemon_ever_led_fails(self):
        violations, _ = check(TERMS, [[9.0, 9.2]], stopped_at=50.0)
        self.assertIn("before its daemon ever led", violations[0])

    def test_work_past_the_lease_fails(self):
        late = 20.0 + LEASE_S + 0.1
        violations, _ = check(TERMS, [[late - 0.2, late]], stopped_at=50.0)
        self.assertIn("past the leadership", violations[0])

    def test_work_between_leaderships_beyond_the_lease_fails(self):
        violations, _ = check(TERMS, [[25.0, 25.2]], stopped_at=50.0)
        self.assertEqual(len(violations), 1)

    def test_a_unit_cut_off_by_the_stop_ends_there(self):
        violations, _ = check(TERMS, [[45.0, None]], stopped_at=45.1)
        self.assertIn("past the leadership", violations[0])
        self.assertEqual(check([[10.0, None]], [[45.0, None]], stopped_at=45.1)[0], [])


if __name__ == "__main__":
    unittest.main()
