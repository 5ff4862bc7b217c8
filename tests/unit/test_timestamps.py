"""Times as the collection handles them: naive datetimes in UTC."""

import calendar
import time

from ansible_collections.pulpops.replication.plugins.module_utils.timestamps import format_time, parse_time, utc_now


def test_now_is_a_naive_utc_datetime_of_this_moment():
    before = time.time()
    now = utc_now()
    after = time.time()
    assert now.tzinfo is None
    seconds = calendar.timegm(now.timetuple()) + now.microsecond / 1e6
    assert before - 1 <= seconds <= after + 1


def test_now_compares_with_the_times_pulp_writes():
    now = utc_now()
    assert parse_time(format_time(now)) == now
