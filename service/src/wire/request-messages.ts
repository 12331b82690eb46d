/**
 * The request messages of generateContent and countTokens, as Google's proto JSON parser sees them: each message's
 * fields by their lowerCamelCase JSON name, and what each field holds. Google's REST front end parses proto JSON,
 * which accepts a field by its JSON name or by its proto name (snake_case: `system_instruction`,
 * `generation_config.max_output_tokens`, `inline_data.mime_type`), at every depth; field-names.ts uses this table to
 * rewrite a request into the one spelling the gateway reads.
 *
 * What a field holds decides how far the rewrite goes:
 * - a message name: the value (or each element of a repeated field) is that message: its keys are field names;
 * - `{ map: M }`: a `map<string, M>`: its keys are data (property names, definition names), its values are M;
 * - `DATA`: a scalar, an enum, a `map<string, string>` (`labels`) or a `google.protobuf.Struct`/`Value`
 *   (`functionCall.args`, `functionResponse.response`, `responseJsonSchema`, `Schema.default`/`example`,
 *   `partMetadata`): never rewritten — its keys are the client's data. Messages the gateway never reads and that
 *   cannot change its decisions (external API auth, MCP transports) are marked DATA too: left as sent, upstream
 *   still reads them in either spelling.
 *
 * Checked against (with the search tool, and the SDK installed here):
 * - googleapis/googleapis `google/cloud/aiplatform/v1beta1/{content,tool,openapi,prediction_service}.proto` and
 *   `google/ai/generativelanguage/v1beta/content.proto` (field names, Struct/Value/map fields);
 * - the Vertex AI REST reference of `Schema` (`anyOf`, `additionalProperties` as a Value, `defs` as a map of Schema,
 *   `ref`, `propertyOrdering`);
 * - `@google/genai` 2.32 `dist/genai.d.ts` (Part, FunctionCall/Response, GenerationConfig and its thinking, speech,
 *   image and routing configs, Tool and its search/retrieval/maps/computer-use/file-search members, ToolConfig,
 *   SafetySetting, ModelArmorConfig) and its request converters (`generateContentConfigToVertex`: the top-level
 *   fields `serviceTier`, `store`, `continuationToken`, `outputConfig`).
 * A field missing here is not lost: it is forwarded exactly as sent, and the cache key still sees it (cache-key.ts).
 * Leaf module: imports nothing.
 */

export const DATA = null;

export type MessageName =
  | "GenerateContentRequest"
  | "CountTokensRequest"
  | "Content"
  | "Part"
  | "Blob"
  | "FileData"
  | "FunctionCall"
  | "PartialArg"
  | "FunctionResponse"
  | "FunctionResponsePart"
  | "ExecutableCode"
  | "CodeExecutionResult"
  | "VideoMetadata"
  | "PartMediaResolution"
  | "ToolCall"
  | "ToolResponse"
  | "GenerationConfig"
  | "ThinkingConfig"
  | "SpeechConfig"
  | "VoiceConfig"
  | "PrebuiltVoiceConfig"
  | "ReplicatedVoiceConfig"
  | "MultiSpeakerVoiceConfig"
  | "SpeakerVoiceConfig"
  | "ImageConfig"
  | "ImageOutputOptions"
  | "RoutingConfig"
  | "AutoRoutingMode"
  | "ManualRoutingMode"
  | "ModelSelectionConfig"
  | "Schema"
  | "Tool"
  | "FunctionDeclaration"
  | "GoogleSearchRetrieval"
  | "DynamicRetrievalConfig"
  | "GoogleSearch"
  | "Interval"
  | "Retrieval"
  | "VertexAISearch"
  | "DataStoreSpec"
  | "VertexRagStore"
  | "RagResource"
  | "RagRetrievalConfig"
  | "RagFilter"
  | "RagHybridSearch"
  | "RagRanking"
  | "RankerModel"
  | "EnterpriseWebSearch"
  | "GoogleMaps"
  | "ComputerUse"
  | "FileSearch"
  | "ToolConfig"
  | "FunctionCallingConfig"
  | "RetrievalConfig"
  | "LatLng"
  | "SafetySetting"
  | "ModelArmorConfig"
  | "EmbedContentRequest"
  | "BatchEmbedContentsRequest"
  | "EmbedContentConfig"
  | "PredictRequest";

export type FieldKind = typeof DATA | MessageName | { readonly map: MessageName };

/** Fields by lowerCamelCase JSON name. Empty messages (CodeExecution, UrlContext) are DATA: they have no fields. */
export const REQUEST_MESSAGES: Readonly<Record<MessageName, Readonly<Record<string, FieldKind>>>> = {
  GenerateContentRequest: {
    model: DATA,
    contents: "Content",
    systemInstruction: "Content",
    cachedContent: DATA,
    tools: "Tool",
    toolConfig: "ToolConfig",
    labels: DATA, // map<string, string>: the keys are the client's label names
    safetySettings: "SafetySetting",
    modelArmorConfig: "ModelArmorConfig",
    generationConfig: "GenerationConfig",
    serviceTier: DATA,
    store: DATA,
    continuationToken: DATA,
    outputConfig: DATA,
  },
  // Vertex takes the generate fields directly; the Developer API also takes a whole wrapped generate request.
  CountTokensRequest: {
    model: DATA,
    endpoint: DATA,
    instances: DATA, // repeated google.protobuf.Value
    contents: "Content",
    systemInstruction: "Content",
    tools: "Tool",
    generationConfig: "GenerationConfig",
    generateContentRequest: "GenerateContentRequest",
  },
  Content: { role: DATA, parts: "Part" },
  Part: {
    text: DATA,
    inlineData: "Blob",
    fileData: "FileData",
    functionCall: "FunctionCall",
    functionResponse: "FunctionResponse",
    executableCode: "ExecutableCode",
    codeExecutionResult: "CodeExecutionResult",
    toolCall: "ToolCall",
    toolResponse: "ToolResponse",
    videoMetadata: "VideoMetadata",
    mediaResolution: "PartMediaResolution",
    thought: DATA,
    thoughtSignature: DATA,
    partMetadata: DATA, // google.protobuf.Struct
  },
  Blob: { mimeType: DATA, data: DATA, displayName: DATA },
  FileData: { mimeType: DATA, fileUri: DATA, displayName: DATA },
  FunctionCall: { id: DATA, name: DATA, args: DATA, partialArgs: "PartialArg", willContinue: DATA },
  PartialArg: {
    jsonPath: DATA,
    nullValue: DATA,
    numberValue: DATA,
    stringValue: DATA,
    boolValue: DATA,
    willContinue: DATA,
  },
  FunctionResponse: {
    id: DATA,
    name: DATA,
    response: DATA, // google.protobuf.Struct
    parts: "FunctionResponsePart",
    willContinue: DATA,
    scheduling: DATA,
  },
  FunctionResponsePart: { inlineData: "Blob", fileData: "FileData" },
  ExecutableCode: { id: DATA, language: DATA, code: DATA },
  CodeExecutionResult: { id: DATA, outcome: DATA, output: DATA },
  VideoMetadata: { startOffset: DATA, endOffset: DATA, fps: DATA },
  PartMediaResolution: { level: DATA, numTokens: DATA },
  ToolCall: { id: DATA, toolType: DATA, args: DATA },
  ToolResponse: { id: DATA, toolType: DATA, response: DATA },
  GenerationConfig: {
    temperature: DATA,
    topP: DATA,
    topK: DATA,
    candidateCount: DATA,
    maxOutputTokens: DATA,
    stopSequences: DATA,
    responseLogprobs: DATA,
    logprobs: DATA,
    presencePenalty: DATA,
    frequencyPenalty: DATA,
    seed: DATA,
    responseMimeType: DATA,
    responseSchema: "Schema",
    responseJsonSchema: DATA, // google.protobuf.Value: a JSON Schema whose keys are data
    responseModalities: DATA,
    mediaResolution: DATA,
    audioTimestamp: DATA,
    enableAffectiveDialog: DATA,
    enableEnhancedCivicAnswers: DATA,
    audioTranscriptionConfig: DATA,
    thinkingConfig: "ThinkingConfig",
    speechConfig: "SpeechConfig",
    imageConfig: "ImageConfig",
    routingConfig: "RoutingConfig",
    modelConfig: "ModelSelectionConfig",
  },
  ThinkingConfig: { includeThoughts: DATA, thinkingBudget: DATA, thinkingLevel: DATA },
  SpeechConfig: {
    voiceConfig: "VoiceConfig",
    languageCode: DATA,
    multiSpeakerVoiceConfig: "MultiSpeakerVoiceConfig",
  },
  VoiceConfig: { prebuiltVoiceConfig: "PrebuiltVoiceConfig", replicatedVoiceConfig: "ReplicatedVoiceConfig" },
  PrebuiltVoiceConfig: { voiceName: DATA },
  ReplicatedVoiceConfig: { mimeType: DATA, voiceSampleAudio: DATA, consentAudio: DATA, voiceConsentSignature: DATA },
  MultiSpeakerVoiceConfig: { speakerVoiceConfigs: "SpeakerVoiceConfig" },
  SpeakerVoiceConfig: { speaker: DATA, voiceConfig: "VoiceConfig" },
  ImageConfig: {
    aspectRatio: DATA,
    imageSize: DATA,
    personGeneration: DATA,
    prominentPeople: DATA,
    imageOutputOptions: "ImageOutputOptions",
  },
  ImageOutputOptions: { mimeType: DATA, compressionQuality: DATA },
  RoutingConfig: { autoMode: "AutoRoutingMode", manualMode: "ManualRoutingMode" },
  AutoRoutingMode: { modelRoutingPreference: DATA },
  ManualRoutingMode: { modelName: DATA },
  ModelSelectionConfig: { featureSelectionPreference: DATA },
  Schema: {
    type: DATA,
    format: DATA,
    title: DATA,
    description: DATA,
    nullable: DATA,
    default: DATA, // google.protobuf.Value
    example: DATA, // google.protobuf.Value
    items: "Schema",
    minItems: DATA,
    maxItems: DATA,
    enum: DATA,
    properties: { map: "Schema" }, // keys are property names (data); values are Schemas
    propertyOrdering: DATA,
    required: DATA,
    minProperties: DATA,
    maxProperties: DATA,
    minimum: DATA,
    maximum: DATA,
    minLength: DATA,
    maxLength: DATA,
    pattern: DATA,
    anyOf: "Schema",
    additionalProperties: DATA, // google.protobuf.Value
    ref: DATA,
    defs: { map: "Schema" },
  },
  Tool: {
    functionDeclarations: "FunctionDeclaration",
    retrieval: "Retrieval",
    googleSearchRetrieval: "GoogleSearchRetrieval",
    googleSearch: "GoogleSearch",
    googleMaps: "GoogleMaps",
    enterpriseWebSearch: "EnterpriseWebSearch",
    codeExecution: DATA,
    urlContext: DATA,
    computerUse: "ComputerUse",
    fileSearch: "FileSearch",
    mcpServers: DATA,
    parallelAiSearch: DATA,
    exaAiSearch: DATA,
  },
  FunctionDeclaration: {
    name: DATA,
    description: DATA,
    behavior: DATA,
    parameters: "Schema",
    parametersJsonSchema: DATA, // google.protobuf.Value
    response: "Schema",
    responseJsonSchema: DATA, // google.protobuf.Value
  },
  GoogleSearchRetrieval: { dynamicRetrievalConfig: "DynamicRetrievalConfig" },
  DynamicRetrievalConfig: { mode: DATA, dynamicThreshold: DATA },
  GoogleSearch: { timeRangeFilter: "Interval", excludeDomains: DATA, blockingConfidence: DATA, searchTypes: DATA },
  Interval: { startTime: DATA, endTime: DATA },
  Retrieval: {
    vertexAiSearch: "VertexAISearch",
    vertexRagStore: "VertexRagStore",
    externalApi: DATA,
    disableAttribution: DATA,
  },
  VertexAISearch: { datastore: DATA, engine: DATA, maxResults: DATA, filter: DATA, dataStoreSpecs: "DataStoreSpec" },
  DataStoreSpec: { dataStore: DATA, filter: DATA },
  VertexRagStore: {
    ragResources: "RagResource",
    ragCorpora: DATA,
    similarityTopK: DATA,
    vectorDistanceThreshold: DATA,
    ragRetrievalConfig: "RagRetrievalConfig",
    storeContext: DATA,
  },
  RagResource: { ragCorpus: DATA, ragFileIds: DATA },
  RagRetrievalConfig: { topK: DATA, filter: "RagFilter", hybridSearch: "RagHybridSearch", ranking: "RagRanking" },
  RagFilter: { vectorDistanceThreshold: DATA, vectorSimilarityThreshold: DATA, metadataFilter: DATA },
  RagHybridSearch: { alpha: DATA },
  RagRanking: { rankService: "RankerModel", llmRanker: "RankerModel" },
  RankerModel: { modelName: DATA },
  EnterpriseWebSearch: { excludeDomains: DATA, blockingConfidence: DATA },
  GoogleMaps: { enableWidget: DATA, authConfig: DATA, groundingTypes: DATA },
  ComputerUse: {
    environment: DATA,
    excludedPredefinedFunctions: DATA,
    enablePromptInjectionDetection: DATA,
    disabledSafetyPolicies: DATA,
  },
  FileSearch: { fileSearchStoreNames: DATA, topK: DATA, metadataFilter: DATA },
  ToolConfig: {
    functionCallingConfig: "FunctionCallingConfig",
    retrievalConfig: "RetrievalConfig",
    includeServerSideToolInvocations: DATA,
  },
  FunctionCallingConfig: { mode: DATA, allowedFunctionNames: DATA, streamFunctionCallArguments: DATA },
  RetrievalConfig: { latLng: "LatLng", languageCode: DATA },
  LatLng: { latitude: DATA, longitude: DATA },
  SafetySetting: { category: DATA, threshold: DATA, method: DATA },
  ModelArmorConfig: { promptTemplateName: DATA, responseTemplateName: DATA },
  // Embeddings (wire/embeddings.ts): the Developer API's and Vertex's embedContent, batchEmbedContents. Vertex's
  // predict body is instances and parameters, both google.protobuf.Value: data, never renamed.
  EmbedContentRequest: {
    model: DATA,
    content: "Content",
    taskType: DATA,
    title: DATA,
    outputDimensionality: DATA,
    autoTruncate: DATA,
    embedContentConfig: "EmbedContentConfig",
  },
  BatchEmbedContentsRequest: { requests: "EmbedContentRequest" },
  EmbedContentConfig: {
    taskType: DATA,
    title: DATA,
    outputDimensionality: DATA,
    autoTruncate: DATA,
    documentOcr: DATA,
    audioTrackExtraction: DATA,
  },
  PredictRequest: { instances: DATA, parameters: DATA },
};

/** The proto (snake_case) name of a field from its JSON name: `maxOutputTokens` → `max_output_tokens`. */
export function protoName(jsonName: string): string {
  return jsonName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
