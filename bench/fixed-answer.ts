/**
 * One fixed Gemini `generateContent` answer (about the size of the emulator's, 709 bytes), shared by the bare express
 * route and the neutral upstream so the baseline and the upstream every proxy talks to send the same bytes.
 */
export const FIXED_ANSWER: Buffer = Buffer.from(
  JSON.stringify({
    candidates: [
      {
        content: {
          role: "model",
          parts: [
            {
              text:
                "Keep-alive pools reuse warm TCP connections, so calls skip the handshake and slow start. They cap " +
                "sockets per origin, smooth bursts, cut latency and CPU, and keep the server's accept queue short. " +
                "Idle sockets time out, so a pool stays small when traffic drops and grows again on demand. " +
                "Pools also bound file descriptors per process.",
            },
          ],
        },
        finishReason: "STOP",
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: 14,
      candidatesTokenCount: 48,
      totalTokenCount: 62,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: 14 }],
      candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 48 }],
    },
    modelVersion: "gemini-2.5-flash",
    responseId: "bare000000000001",
  }),
);

export const FIXED_ANSWER_TYPE = "application/json; charset=UTF-8";
