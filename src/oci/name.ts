/** Repository name and tag grammar from the OCI distribution spec. */
import { RegistryError } from "./errors.ts";

const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// Distribution's limit; also keeps every path under the storage root short enough.
export const MAX_NAME_LENGTH = 255;

/** @throws RegistryError NAME_INVALID unless `name` is a valid repository name. */
export function assertRepositoryName(name: string): void {
  if (name.length > MAX_NAME_LENGTH) {
    throw new RegistryError("NAME_INVALID", {
      message: `Repository name is longer than ${MAX_NAME_LENGTH} characters`,
      detail: { name: name.slice(0, 64) + "…" },
    });
  }
  if (!NAME.test(name)) {
    throw new RegistryError("NAME_INVALID", {
      message: `Invalid repository name "${name}": lowercase letters, digits and separators (. _ __ -) in components joined by /`,
      detail: { name },
    });
  }
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** @throws RegistryError MANIFEST_INVALID (the spec's table has no tag code) unless `tag` is valid. */
export function assertTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new RegistryError("MANIFEST_INVALID", {
      message: `Invalid tag "${tag.slice(0, 140)}": up to 128 of [A-Za-z0-9_.-], not starting with . or -`,
      detail: { tag: tag.slice(0, 140) },
    });
  }
}
