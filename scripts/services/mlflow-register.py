"""Registry chores for tests and local use, against a real MLflow server.

  register URI NAME DIR [ALIAS]   log DIR as-is as an MLflow 3 logged model, register it as a
                                  new version of NAME, optionally point ALIAS at it; prints
                                  {version, runId, modelId}
  register-run-artifacts URI NAME DIR
                                  log DIR as plain run artifacts (the pre-MLflow-3 layout,
                                  source runs:/<run>/legacy-model) and register it; prints {version, runId}
  alias URI NAME ALIAS VERSION    point ALIAS at VERSION
  unalias URI NAME ALIAS          delete ALIAS
  webhook URI NAME URL SECRET     create a model-registry webhook for alias and version events
"""
import json
import sys

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def ensure_registered(client: MlflowClient, name: str) -> None:
    try:
        client.create_registered_model(name)
    except MlflowException as e:
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def register(uri: str, name: str, model_dir: str, alias: str | None) -> None:
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    mlflow.set_experiment("scoregate")
    with mlflow.start_run(run_name="register-dir") as run:
        lm = mlflow.initialize_logged_model(name="model", source_run_id=run.info.run_id)
        client.log_model_artifacts(lm.model_id, model_dir)
        mlflow.finalize_logged_model(lm.model_id, "READY")
    ensure_registered(client, name)
    v = client.create_model_version(name, f"models:/{lm.model_id}", run.info.run_id, model_id=lm.model_id)
    if alias:
        client.set_registered_model_alias(name, alias, v.version)
    print(json.dumps({"version": v.version, "runId": run.info.run_id, "modelId": lm.model_id}))


def register_run_artifacts(uri: str, name: str, model_dir: str) -> None:
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    mlflow.set_experiment("scoregate")
    with mlflow.start_run(run_name="register-run-artifacts") as run:
        mlflow.log_artifacts(model_dir, "legacy-model")
    ensure_registered(client, name)
    v = client.create_model_version(name, f"runs:/{run.info.run_id}/legacy-model", run.info.run_id)
    print(json.dumps({"version": v.version, "runId": run.info.run_id}))


def main(argv: list[str]) -> None:
    cmd, uri = argv[0], argv[1]
    if cmd == "register":
        register(uri, argv[2], argv[3], argv[4] if len(argv) > 4 else None)
    elif cmd == "register-run-artifacts":
        register_run_artifacts(uri, argv[2], argv[3])
    elif cmd == "alias":
        MlflowClient(uri).set_registered_model_alias(argv[2], argv[3], argv[4])
    elif cmd == "unalias":
        MlflowClient(uri).delete_registered_model_alias(argv[2], argv[3])
    elif cmd == "webhook":
        # Upper-case enum names: lower case reads as "unspecified" and the server answers 500.
        body = {
            "name": f"scoregate-{argv[2]}",
            "url": argv[3],
            "events": [{"entity": "MODEL_VERSION_ALIAS", "action": "CREATED"}, {"entity": "MODEL_VERSION", "action": "CREATED"}],
            "secret": argv[4],
        }
        r = requests.post(f"{uri}/api/2.0/mlflow/webhooks", json=body, timeout=10)
        r.raise_for_status()
        print(json.dumps(r.json()["webhook"]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
