// Lint: TypeScript-aware recommended rules; `any` is an error so typed boundaries stay typed; and the service's
// layers, enforced: dependencies point one way (README "Layout").
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Folders of service/src by layer, from the top; a folder may import only from the layers below its own. */
const LAYERS = [
  ["surfaces", "console"],
  ["pipeline"],
  ["upstream", "route", "store", "accounting", "telemetry", "cache", "quota", "guard", "budget", "prompts", "keys"],
  ["config", "wire", "http"],
];

/** `no-restricted-imports` for the folders of one layer: nothing from the layers above it. */
function layerRule(index) {
  const above = LAYERS.slice(0, index).flat();
  const names = LAYERS[index].join(", ");
  const rule = {
    files: LAYERS[index].map((dir) => `service/src/${dir}/**/*.ts`),
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: above.map((dir) => `../${dir}/*`),
              message: `${names} sit below ${above.join(", ")}: dependencies point one way (surfaces → pipeline → upstream, store, … → config, wire, http).`,
            },
          ],
        },
      ],
    },
  };
  return index === 0 ? [] : [rule];
}

export default tseslint.config(
  { ignores: ["node_modules/", "**/dist/", "coverage/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  ...LAYERS.flatMap((_, i) => layerRule(i)),
  {
    // The operator console's ES modules run in the browser (served as they are, no build step).
    files: ["service/console/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(
        ["window", "document", "location", "navigator", "fetch", "confirm", "Node", "setInterval"].map((n) => [
          n,
          "readonly",
        ]),
      ),
    },
  },
  {
    // The emulator stands for Google: it shares the wire format and nothing else of the gateway.
    files: ["service/src/emulator/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../*", "!../wire", "!../wire/*"],
              message:
                "The emulator imports only the wire format (service/src/wire): it stands for Google, not the gateway.",
            },
          ],
        },
      ],
    },
  },
);
