import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.bench-build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Port implementations are async by contract even when one of them has nothing to await.
      '@typescript-eslint/require-await': 'off',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Only src/main.ts and src/demo.ts read the environment.',
        },
      ],
    },
  },
  // The layers only point down (docs/design.md#folders-and-what-each-may-import): the login flow
  // speaks only its ports (relay/ports/), the wire format (contract/) and shared helpers (shared/).
  ...[
    { files: ['src/relay/*.ts'], outside: '^\\.\\./(?!shared/|contract/|domain/)' },
    { files: ['src/relay/*/*.ts'], outside: '^\\.\\./\\.\\./(?!shared/|contract/|domain/)' },
  ].map(({ files, outside }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: outside,
              message: 'relay/ imports only relay/, shared/ and contract/ (adapters implement relay/ports/).',
            },
          ],
        },
      ],
    },
  })),
  {
    // The client library is packed on its own: the wire format, shared helpers and @redis/client only.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!contract/|shared/)',
              message: 'client/ imports only contract/, shared/ and @redis/client.',
            },
            {
              regex: '^(?!\\.|node:|@redis/client$)',
              message: 'client/ imports only contract/, shared/ and @redis/client.',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    // examples/ioredis-bot.mjs runs as it is, on Node: its globals. A bot is a composition root: it
    // reads its own environment.
    files: ['examples/**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['src/main.ts', 'src/demo.ts', 'test/**', 'bench/**', '*.config.*'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
