/** A configuration that cannot be used; the message names the key (or variable) and why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Something start-up tells the operator about the configuration (one log line each). */
export interface ConfigNote {
  level: "info" | "warn";
  message: string;
}
