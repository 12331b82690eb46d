/**
 * `GET /v1beta/openai/models` and `GET /v1beta/openai/models/{model}`: the models the caller's key may use — the
 * gateway's served models, narrowed to the tenant's allowlist — in OpenAI's list and model shapes. Authenticated like
 * a model call (the gateway key as the bearer token); errors in OpenAI's shape. Ids are plain Gemini ids
 * (`gemini-2.5-flash`), which is what chat completions take (`models/…` and `google/…` are accepted there too).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeJson } from "../../http/write.js";
import type { Keyring } from "../../pipeline/authenticate.js";
import { errors, GatewayError, toGatewayError } from "../../wire/errors.js";
import type { OpenAIModel, OpenAIModelList } from "../../wire/openai.js";
import { writeOpenAIError } from "./error-shape.js";

export type OpenAIModelsHandler = (req: IncomingMessage, res: ServerResponse, model: string | undefined) => void;

export function openaiModelsHandler(o: { keyring: Keyring; servedModels: readonly string[] }): OpenAIModelsHandler {
  // OpenAI's `created` is when a model was published; the gateway knows when it started serving it.
  const created = Math.floor(Date.now() / 1000);
  const entry = (id: string): OpenAIModel => ({ id, object: "model", created, owned_by: "google" });
  return (req, res, model) => {
    try {
      const { tenant } = o.keyring.authenticate(req.headers, req.rawHeaders);
      const allowed = o.servedModels.filter((m) => !tenant.models || tenant.models.has(m));
      if (model === undefined) {
        const list: OpenAIModelList = { object: "list", data: allowed.map(entry) };
        writeJson(res, 200, list);
        return;
      }
      const id = model.replace(/^(models|google)\//, "");
      if (!allowed.includes(id)) throw errors.unknownModel(model);
      writeJson(res, 200, entry(id));
    } catch (err) {
      writeOpenAIError(res, err instanceof GatewayError ? err : toGatewayError(err));
    }
  };
}
