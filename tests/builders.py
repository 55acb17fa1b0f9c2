"""Scenario builders the tests share: one place, so a test file never imports another test file."""


def single_trunk(capacity, erlangs, duration="50h", holding=None, endpoint=None, **trunk):
    return {
        "name": "single",
        "duration": duration,
        "warmup": "1h",
        "trunks": [
            {
                "name": "t",
                "capacity_limit": capacity,
                "rerouting_codes": "none",
                **({"endpoint": endpoint} if endpoint else {}),
                **trunk,
            }
        ],
        "dids": [
            {
                "number": "441234567890",
                "route": {"trunk": "t"},
                "traffic": {
                    "erlangs": erlangs,
                    "holding_time": holding or {"dist": "exponential", "mean": 180},
                },
            }
        ],
    }


def two_trunks(primary=None, secondary=None, **group):
    return {
        "name": "pair",
        "duration": "2h",
        "trunks": [{"name": "primary", **(primary or {})}, {"name": "secondary", **(secondary or {})}],
        "trunk_groups": [
            {
                "name": "g",
                "members": [{"trunk": "primary", "priority": 1}, {"trunk": "secondary", "priority": 2}],
                **group,
            }
        ],
        "dids": [
            {
                "number": "4930111",
                "route": {"group": "g"},
                "traffic": {"calls_per_hour": 300, "holding_time": "2m"},
            }
        ],
    }


def busy_scenario():
    """Every kind of cap binding at once, with failures and faults."""
    return {
        "name": "busy",
        "duration": "3h",
        "warmup": "10m",
        "pops": [{"name": "FRA", "ingress_share": 0.5}, {"name": "AMS", "ingress_share": 0.5}],
        "trunks": [
            {
                "name": "a",
                "pop": "FRA",
                "capacity_limit": 12,
                "ringing_timeout": "15s",
                "rerouting_codes": "all",
                "endpoint": {
                    "channels": 10,
                    "answer_delay": {"dist": "exponential", "mean": "6s"},
                    "responses": {486: 0.05, 503: 0.05},
                    "no_response": 0.02,
                },
            },
            {
                "name": "b",
                "capacity_limit": 8,
                "ringing_timeout": "10s",
                "rerouting_codes": "all",
                "endpoint": {
                    "answer_delay": {"dist": "uniform", "low": 1, "high": 12},
                    "answer_probability": 0.8,
                },
            },
            {"name": "c", "capacity_limit": 6, "rerouting_codes": "all"},
        ],
        "trunk_groups": [
            {
                "name": "g",
                "capacity_limit": 15,
                "members": [
                    {"trunk": "a", "priority": 1, "weight": 2},
                    {"trunk": "b", "priority": 1, "weight": 1},
                    {"trunk": "c", "priority": 2},
                ],
            }
        ],
        "dids": [
            {
                "number": "111",
                "route": {"group": "g"},
                "capacity_limit": 18,
                "traffic": {"erlangs": 20, "holding_time": {"dist": "lognormal", "mean": "2m", "cv": 1.5}},
            },
            {
                "number": "222",
                "route": {"trunk": "b"},
                "capacity_limit": 5,
                "traffic": {"erlangs": 6, "holding_time": "90s"},
            },
        ],
        "faults": [
            {"pop": "FRA", "at": "1h", "duration": "20m"},
            {"trunk": "a", "at": "2h", "duration": "10m", "effect": "channels", "channels": 2},
            {"trunk": "b", "at": "125m", "duration": "10m", "effect": "down"},
        ],
    }
