"""Failed subtasks of a replication's task group, named after the object they worked on."""

from ansible_collections.pulpops.replication.plugins.module_utils import group_report as G

DOMAIN = "01a23450-0000-7000-8000-00000000000d"
REPO = "01a23450-0000-7000-8000-0000000000a1"
REMOTE = "01a23450-0000-7000-8000-0000000000b1"
DIST = "01a23450-0000-7000-8000-0000000000c1"
NAMES = {REPO: ("repository", "c-0002"), REMOTE: ("remote", "c-0002"), DIST: ("distribution", "c-0002")}


def failed(name, resources):
    return {"pulp_href": "/pulp/api/v3/tasks/1/", "name": name, "state": "failed",
            "reserved_resources_record": resources, "error": {"description": "base_path must be unique"}}


def test_a_failed_distribution_create_is_named_a_distribution_not_its_repository():
    task = failed("pulpcore.app.tasks.base.general_create",
                  ["pdrn:%s:distributions" % DOMAIN, "shared:/pulp/api/v3/repositories/file/file/%s/" % REPO])
    assert [(f["kind"], f["name"]) for f in G.failed_subtasks([task], NAMES)] == [("distribution", "c-0002")]


def test_a_failed_sync_is_named_after_its_repository():
    task = failed("pulp_file.app.tasks.synchronizing.synchronize",
                  ["/pulp/api/v3/repositories/file/file/%s/" % REPO, "shared:/pulp/api/v3/remotes/file/file/%s/" % REMOTE])
    assert [(f["kind"], f["name"], f["task_name"]) for f in G.failed_subtasks([task], NAMES)] == [
        ("repository", "c-0002", "synchronize")]


def test_a_failed_update_that_reserves_the_distribution_is_named_after_it():
    task = failed("pulpcore.app.tasks.base.ageneral_update",
                  ["pdrn:%s:distributions" % DOMAIN, "/pulp/api/v3/distributions/file/file/%s/" % DIST])
    assert [(f["kind"], f["name"]) for f in G.failed_subtasks([task], NAMES)] == [("distribution", "c-0002")]


def test_only_finalize_failed_is_reported_as_finalize():
    task = failed("pulpcore.app.tasks.replica.finalize_replication", [])
    assert [(f["name"], f["task_name"]) for f in G.group_failures([task], NAMES)] == [(None, "finalize_replication")]


def test_the_report_fields_of_a_task_give_the_same_report_as_the_whole_task():
    """A finished group's tasks are read with REPORT_TASK_FIELDS only: nothing the report uses may be left out."""
    whole = [
        dict(failed("pulp_file.app.tasks.synchronizing.synchronize",
                    ["/pulp/api/v3/repositories/file/file/%s/" % REPO, "shared:/pulp/api/v3/remotes/file/file/%s/" % REMOTE]),
             started_at="2026-12-02T10:00:00.000Z", finished_at="2026-12-02T10:00:02.500Z", worker="/pulp/api/v3/workers/1/",
             created_resources=[], progress_reports=[{"message": "Downloading", "done": 1}], child_tasks=[],
             parent_task=None, task_group="/pulp/api/v3/task-groups/1/", logging_cid="abc"),
        {"pulp_href": "/pulp/api/v3/tasks/2/", "name": "pulpcore.app.tasks.replica.finalize_replication",
         "state": "completed", "started_at": "2026-12-02T10:00:03.000Z", "finished_at": "2026-12-02T10:00:03.400Z",
         "error": None, "reserved_resources_record": [], "worker": "/pulp/api/v3/workers/2/", "created_resources": []},
    ]
    fields = G.REPORT_TASK_FIELDS.split(",")
    trimmed = [dict((k, v) for k, v in task.items() if k in fields) for task in whole]
    assert trimmed != whole
    assert G.durations(trimmed) == G.durations(whole)
    assert G.durations(trimmed)["total_seconds"] == 3.4
    assert G.group_failures(trimmed, NAMES) == G.group_failures(whole, NAMES)
    assert [f["name"] for f in G.group_failures(trimmed, NAMES)] == ["c-0002"]
    assert G.group_finished({}, trimmed) is True
