/**
 * What a surface hands the pipeline. Types only. (What the pipeline learns about a call as its stages run is the
 * CallRecord in telemetry/call-record.ts.)
 */

/** The client-facing API a request came in through. */
export type Surface = "gemini" | "vertex";

/** What a surface's route decoded from the URL, before anything is checked. */
export interface RouteTarget {
  surface: Surface;
  /** API version in the path: v1, v1beta (Developer API) or v1beta1 (Vertex). */
  version: string;
  /** Path segment after `models/`, e.g. `gemini-2.5-flash:generateContent` (unvalidated). */
  modelAndMethod: string;
  /** `alt` query parameter: "sse" asks for server-sent events. */
  alt: string | undefined;
}
