import pendulum

START_DATE =
pendulum.datetime(2025, 1, 1, tz="UTC")
