"""Request metrics and the Prometheus text format."""

from __future__ import annotations

from shared_lib.observability.metrics import Family, Requests, exposition, merge, request_families


def test_requests_are_counted_by_route_and_status_with_a_cumulative_histogram():
    requests = Requests()
    requests.observe("follow", "/api/users/{username}/follow", 200, 0.004)
    requests.observe("follow", "/api/users/{username}/follow", 200, 0.3)
    requests.observe("follow", "/api/users/{username}/follow", 404, 20.0)
    text = exposition(request_families(requests.snapshot()))
    route = 'function="follow",route="/api/users/{username}/follow"'
    assert f'streamfn_requests_total{{{route},status="200"}} 2' in text
    assert f'streamfn_requests_total{{{route},status="404"}} 1' in text
    assert f'streamfn_request_duration_seconds_bucket{{{route},le="0.005"}} 1' in text
    assert f'streamfn_request_duration_seconds_bucket{{{route},le="0.5"}} 2' in text
    assert f'streamfn_request_duration_seconds_bucket{{{route},le="10.0"}} 2' in text
    assert f'streamfn_request_duration_seconds_bucket{{{route},le="+Inf"}} 3' in text
    assert f"streamfn_request_duration_seconds_count{{{route}}} 3" in text
    assert "# TYPE streamfn_request_duration_seconds histogram" in text


def test_workers_snapshots_add_up():
    one, two = Requests(), Requests()
    one.observe("me", "/api/auth/me", 200, 0.01)
    two.observe("me", "/api/auth/me", 200, 0.02)
    two.observe("me", "/api/auth/me", 401, 0.001)
    merged = merge([one.snapshot(), two.snapshot()])
    assert sorted(merged["requests"]) == [["me", "/api/auth/me", 200, 2], ["me", "/api/auth/me", 401, 1]]
    [[_, _, cells]] = merged["latency"]
    assert sum(cells[:-1]) == 3 and abs(cells[-1] - 0.031) < 1e-9


def test_label_values_are_escaped():
    family = Family("x_total", "counter", "x")
    family.add(1, route='a"b\\c\nd')
    assert 'x_total{route="a\\"b\\\\c\\nd"} 1' in exposition([family])
