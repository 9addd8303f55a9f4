/**
 * Why a 403 was answered, kept beside the Response for the audit line (src/audit/http.ts) and
 * never sent: the client's body stays what it was (the access layer's must not say who may do
 * what). Set by whoever makes the 403: the access layer, and `errorResponse` for a DENIED error
 * (a plugin's before-hook, whose message names its rule).
 */

/** The reason of a denial, and the plugin that denied when one did. */
export interface Denial {
  reason: string;
  plugin?: string;
}

const denials = new WeakMap<Response, Denial>();

/** Records why `response` denies. @returns response */
export function noteDenial(response: Response, denial: Denial): Response {
  denials.set(response, denial);
  return response;
}

/** Why `response` denies, when its maker said. */
export function denialOf(response: Response): Denial | undefined {
  return denials.get(response);
}
