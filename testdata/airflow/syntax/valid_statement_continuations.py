import pendulum

START_DATE = pendulum.\
    datetime(2025, 1, 1, tz="UTC")
END = (pendulum
       .datetime(2026, 1, 1))
