/**
 * The MLflow client's credentials and CA from the settings MLflow's own clients read:
 * MLFLOW_TRACKING_TOKEN (bearer; Databricks), MLFLOW_TRACKING_USERNAME/PASSWORD (basic;
 * `mlflow server --app-name basic-auth`), MLFLOW_TRACKING_SERVER_CERT_PATH (a private CA).
 */
import type { Config } from '../core/config.js';
import { readCaFile } from '../core/setting-files.js';
import type { MlflowClientOptions } from './mlflow-client.js';

type MlflowSettings = Pick<Config, 'mlflowTrackingToken' | 'mlflowTrackingUsername' | 'mlflowTrackingPassword' | 'mlflowTrackingServerCertPath'>;

export function mlflowClientOptions(c: MlflowSettings): MlflowClientOptions {
  const out: MlflowClientOptions = {};
  if (c.mlflowTrackingToken !== '') out.token = c.mlflowTrackingToken;
  else if (c.mlflowTrackingUsername !== '') out.basic = { username: c.mlflowTrackingUsername, password: c.mlflowTrackingPassword };
  if (c.mlflowTrackingServerCertPath !== '') out.ca = readCaFile('MLFLOW_TRACKING_SERVER_CERT_PATH', c.mlflowTrackingServerCertPath);
  return out;
}
