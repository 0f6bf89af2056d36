// Type-aware lint: the rules that matter most in stream code are the promise ones
// (a floating send or commit is a silent data-loss bug).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.journeyline/', 'infra/.cache/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-console': 'error',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  // The dashboard's page scripts: browser globals, every name checked by tsc (services/dashboard/web/tsconfig.json).
  { files: ['services/dashboard/web/**/*.js'], rules: { 'no-undef': 'off' } },
  { files: ['**/*.mjs'], languageOptions: { globals: { console: 'readonly', URL: 'readonly' } }, rules: { 'no-console': 'off' } },
  // A file of one job and functions a reader takes in at once: no source file in services/ over 400
  // lines, no function over 80. The configuration's one zod schema and its mapping to the settings
  // tree (common/config.ts) are the one exception: a table of every variable, read entry by entry.
  {
    files: ['services/**/*.ts'],
    ignores: ['services/**/*.test.ts', 'services/common/config.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  // CLIs talk to a person on a terminal; services log through pino.
  { files: ['services/cli/**', 'infra/**', 'test/**'], rules: { 'no-console': 'off' } },
);
