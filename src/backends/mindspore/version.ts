/** The release packages target unless told: the newest that mindone's newest release supports (2.6.0 to 2.7.1). */
export const DEFAULT_MS_VERSION = '2.7.1';
