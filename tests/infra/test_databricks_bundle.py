"""The Databricks bundle (databricks/): databricks.yml and the job resources load, parse into the typed job classes of
``databricks-bundles`` (a misspelt field fails), and declare what the bulk job promises."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from shared.runner import RUN_SETTLE

yaml = pytest.importorskip("yaml", reason="PyYAML missing: 'make test' installs requirements-spark.txt")
jobs = pytest.importorskip("databricks.bundles.jobs", reason="'make test' installs databricks-bundles")

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "databricks"
TOP_LEVEL = {"bundle", "include", "artifacts", "variables", "targets", "workspace", "resources", "sync",
             "permissions", "run_as", "presets", "experimental", "python", "scripts"}
TARGET_KEYS = {"mode", "default", "workspace", "variables", "resources", "presets", "run_as", "permissions",
               "artifacts", "bundle", "git", "sync", "cluster_id"}


def load_bundle() -> tuple[dict, dict]:
    """(databricks.yml, the resources of every included file merged)."""
    root = yaml.safe_load((BUNDLE / "databricks.yml").read_text())
    resources: dict = {}
    for pattern in root["include"]:
        for path in sorted(BUNDLE.glob(pattern)):
            for kind, items in yaml.safe_load(path.read_text())["resources"].items():
                resources.setdefault(kind, {}).update(items)
    return root, resources


def merged(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def job_for(target: str):
    root, resources = load_bundle()
    spec = resources["jobs"]["imgpipe_bulk"]
    override = root["targets"][target].get("resources", {}).get("jobs", {}).get("imgpipe_bulk", {})
    return jobs.Job.from_dict(merged(spec, override))


def resolve(value: str, variables: dict) -> str:
    """``${var.x}`` -> the variable's default (recursively), as the bundle CLI does without target overrides."""
    return re.sub(r"\$\{var\.(\w+)\}", lambda m: str(resolve(str(variables[m.group(1)]["default"]), variables)),
                  str(value))


def test_the_bundle_has_only_known_keys_and_its_targets():
    root, _ = load_bundle()
    assert set(root) <= TOP_LEVEL
    assert set(root["targets"]) == {"dev", "prod", "prod-on-arrival"}
    for target in root["targets"].values():
        assert set(target) <= TARGET_KEYS
    assert root["targets"]["dev"]["mode"] == "development" and root["targets"]["dev"]["default"] is True


def test_a_misspelt_field_fails_the_typed_parse():
    _, resources = load_bundle()
    spec = copy.deepcopy(resources["jobs"]["imgpipe_bulk"])
    spec["tasks"][0]["max_retry"] = 2
    with pytest.raises(ValueError, match="max_retry"):
        jobs.Job.from_dict(spec)


@pytest.mark.parametrize("target", ["dev", "prod", "prod-on-arrival"])
def test_the_job_parses_per_target_with_one_trigger(target):
    job = job_for(target)
    assert (job.schedule is None) != (job.trigger is None), "a schedule or a file-arrival trigger, not both"
    assert job.max_concurrent_runs == 1 and [str(e) for e in job.email_notifications.on_failure] == ["${var.notify}"]


def test_prod_runs_daily_and_the_arrival_variant_watches_uploads():
    root, _ = load_bundle()
    daily = job_for("prod").schedule
    assert daily.quartz_cron_expression == "0 0 2 * * ?" and daily.pause_status.value == "UNPAUSED"
    arrival = job_for("prod-on-arrival").trigger.file_arrival
    assert resolve(arrival.url, root["variables"]) == "/Volumes/main/imgpipe/images/uploads/"
    assert job_for("dev").schedule.pause_status.value == "PAUSED"


def test_autoscaling_two_to_ten_workers_by_variables():
    root, _ = load_bundle()
    (cluster,) = job_for("prod").job_clusters
    assert str(cluster.new_cluster.autoscale.min_workers) == "${var.min_workers}"
    assert str(cluster.new_cluster.autoscale.max_workers) == "${var.max_workers}"
    assert (root["variables"]["min_workers"]["default"], root["variables"]["max_workers"]["default"]) == (2, 10)
    assert str(cluster.new_cluster.spark_version).startswith("${var.")
    assert resolve(cluster.new_cluster.spark_version, root["variables"]).startswith("17.")  # Spark 4, Python 3.12


def test_tasks_in_dependency_order_with_retries_on_the_wheel_entry_point():
    job = job_for("prod")
    assert [t.task_key for t in job.tasks] == ["ingest", "cleanse", "classify"]
    assert [[d.task_key for d in t.depends_on] for t in job.tasks] == [[], ["ingest"], ["cleanse"]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    from imgpipe_spark.tasks import parser

    for task in job.tasks:
        assert task.max_retries >= 1 and task.min_retry_interval_millis >= 60_000 and task.retry_on_timeout
        assert task.job_cluster_key == "images" and [lib.whl for lib in task.libraries] == ["../../dist/*.whl"]
        wheel = task.python_wheel_task
        assert wheel.package_name == "imgpipe" and scripts[wheel.entry_point] == "imgpipe_spark.tasks:main"
        params = [str(p) for p in wheel.parameters]
        args = parser().parse_args(params)  # the parameters are ones the entry point accepts
        assert args.phase == task.task_key and args.table == "${var.gold_table}"
    ingest = parser().parse_args([str(p) for p in job.tasks[0].python_wheel_task.parameters])
    assert (ingest.settle, ingest.verify) == (RUN_SETTLE, False)  # imgpipe run's defaults: files still written wait


def test_the_wheel_artifact_is_built_from_this_repository(tmp_path):
    root, _ = load_bundle()
    (artifact,) = root["artifacts"].values()
    assert artifact["type"] == "whl" and (BUNDLE / artifact["path"]).resolve() == ROOT
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path),
                    str(ROOT)], check=True, timeout=600, capture_output=True)
    (wheel,) = tmp_path.glob("imgpipe-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("imgpipe_spark/tasks.py", "imgpipe_spark/executors.py", "shared/imaging.py", "shared/gold.py",
                   "ml/model.py", "ml/efficientnet_lite0_int8.onnx", "ml/taxonomy.json", "ml/imagenet_classes.json"):
        assert needed in names, needed
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "imgpipe-spark = imgpipe_spark.tasks:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
