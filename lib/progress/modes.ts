/** The values of `--progress`, apart from the renderers so flag tables can name them without loading any. */
export const PROGRESS_MODES = ["auto", "tty", "plain", "rawjson", "quiet"] as const;
export type ProgressMode = typeof PROGRESS_MODES[number];
