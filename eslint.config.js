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
  // The layers only point down (DESIGN.md, "Architecture"): the login flow speaks only its ports
  // (relay/ports/), the wire format (contract/) and shared helpers (shared/).
  ...[
    { files: ['src/relay/*.ts'], outside: '^\\.\\./(?!shared/|contract/)' },
    { files: ['src/relay/*/*.ts'], outside: '^\\.\\./\\.\\./(?!shared/|contract/)' },
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
    // The client library is packed on its own: the wire format, the Redis connections, shared
    // helpers and @redis/client only.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!contract/|redis/|shared/)|^\\.\\./shared/log\\.js$',
              message:
                'client/ imports only contract/, redis/, shared/ (not log.js: pino) and @redis/client.',
            },
            {
              regex: '^(?!\\.|node:|@redis/client$)',
              message: 'client/ imports only contract/, redis/, shared/ and @redis/client.',
            },
          ],
        },
      ],
    },
  },
  {
    // Every Redis connection, the client library's too: so nothing but @redis/client, node: and the
    // shared/ helpers that import no package (not log.js, which is pino).
    files: ['src/redis/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!shared/)|^\\.\\./shared/log\\.js$',
              message: 'redis/ imports only shared/ (not log.js: pino), node: and @redis/client.',
            },
            {
              regex: '^(?!\\.|node:|@redis/client$)',
              message: 'redis/ imports only shared/, node: and @redis/client.',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
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
