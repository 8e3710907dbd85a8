// JSON Schema checks with npm ajv (+ ajv-formats for uri, date-time, email): the CI definitions and
// the KCIDB output are validated against written-down schema facts in the tests.
import { Ajv } from "ajv";
import * as formats from "ajv-formats";

// ajv-formats is CommonJS: Deno hands its module.exports (the plugin) over as the default export,
// while its types describe an ES module whose default is the plugin.
type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats = (formats as unknown as { default: FormatsPlugin }).default;

/** A validator for `schema`: returns "" for a valid value, else ajv's error text. */
export function schemaCheck(schema: object): (value: unknown) => string {
  // Strict, except for `required` of properties typed elsewhere (a visible GitLab job needs
  // script, trigger or extends, all typed in the job keyword list it refers to).
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  return (value) => validate(value) ? "" : ajv.errorsText(validate.errors);
}
