/**
 * Where Vertex AI's Model Armor integration screens Gemini calls (a template attached as `modelArmorConfig`):
 * "The supported locations for this integration are us-central1, us-east4, us-west1, and europe-west4."
 * — Model Armor integration with Vertex AI, cloud.google.com/security-command-center/docs/model-armor-vertex-integration
 * (checked December 2026). Config validation (config.ts) refuses a gateway region whose Vertex calls would go anywhere
 * else, and the policy pack's model-armor-in-gateway-regions rule carries the same list as its default.
 */
export const MODEL_ARMOR_VERTEX_LOCATIONS = ["us-central1", "us-east4", "us-west1", "europe-west4"] as const;
