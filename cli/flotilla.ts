/** Placeholder. @module */
