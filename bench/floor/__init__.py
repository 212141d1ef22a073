"""The floor: a minimal Django + DRF order intake, the bar our own intake is judged against
(issue "Performance and scale"). Token authentication, one serializer, and in one
transaction the same three inserts our intake makes (an order, its CREATED event, its NEW
queue request), into three tables of its own shaped like ours; no risk, no routing, no
idempotency, no session gate. What the framework costs, and nothing else.

    python -m bench.floor setup        # migrate DATABASE_URL, a user and its token (printed)
    gunicorn bench.floor.wsgi ...      # bench/stack_floor.py starts it as it starts the OMS

The suite's `floor` scenario (bench/scenarios/floor.py) loads it beside the OMS.
"""
