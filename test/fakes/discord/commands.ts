import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type APIApplicationCommand,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandOption,
  type APIApplicationCommandOptionChoice,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord-api-types/v10';

/** Discord's rule for CHAT_INPUT names: 1 to 32 letters, digits, `-`, `_` or `'`, lowercase where a letter has a case. */
const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const CONTEXTS: readonly number[] = [
  InteractionContextType.Guild,
  InteractionContextType.BotDM,
  InteractionContextType.PrivateChannel,
];
const INTEGRATION_TYPES: readonly number[] = [
  ApplicationIntegrationType.GuildInstall,
  ApplicationIntegrationType.UserInstall,
];
/** The option types a command's options may have (sub-commands aside, which the emulator does not model). */
const VALUE_OPTION_TYPES: readonly number[] = [
  ApplicationCommandOptionType.String,
  ApplicationCommandOptionType.Integer,
  ApplicationCommandOptionType.Boolean,
  ApplicationCommandOptionType.Number,
];

/** An option value as a test gives it to `runCommand`. */
export type CommandOptionValue = string | number | boolean;

/**
 * Checks a bulk overwrite of global commands the way Discord does, for the mistakes a bot can make:
 * the problems as "Invalid Form Body" would list them, or an empty list.
 */
export function commandProblems(commands: RESTPutAPIApplicationCommandsJSONBody): string[] {
  const problems: string[] = [];
  if (commands.length > 100) problems.push('must be 100 or fewer in length');
  const seen = new Set<string>();
  commands.forEach((command, index) => {
    const where = `${index}`;
    const type = command.type ?? ApplicationCommandType.ChatInput;
    if (type === ApplicationCommandType.ChatInput) {
      if (!isChatInputName(command.name)) problems.push(`${where}.name: invalid application command name`);
      const description = 'description' in command ? command.description : undefined;
      if (typeof description !== 'string' || description.length < 1 || description.length > 100) {
        problems.push(`${where}.description: must be between 1 and 100 in length`);
      }
      const options = 'options' in command ? command.options : undefined;
      if (options !== undefined) problems.push(...optionProblems(options, `${where}.options`));
    }
    const key = `${type}:${command.name}`;
    if (seen.has(key)) problems.push(`${where}.name: application command names must be unique`);
    seen.add(key);
    for (const context of command.contexts ?? []) {
      if (!CONTEXTS.includes(context))
        problems.push(`${where}.contexts: ${String(context)} is not a valid context`);
    }
    for (const integrationType of command.integration_types ?? []) {
      if (!INTEGRATION_TYPES.includes(integrationType)) {
        problems.push(
          `${where}.integration_types: ${String(integrationType)} is not a valid integration type`,
        );
      }
    }
  });
  return problems;
}

function isChatInputName(name: unknown): boolean {
  return typeof name === 'string' && CHAT_INPUT_NAME.test(name) && name === name.toLowerCase();
}

/** A command's options, as Discord checks them: at most 25, each named, described, with sound bounds. */
function optionProblems(options: readonly APIApplicationCommandOption[], where: string): string[] {
  const problems: string[] = [];
  if (!Array.isArray(options) || options.length > 25) return [`${where}: must be 25 or fewer in length`];
  const names = new Set<string>();
  let optionalSeen = false;
  options.forEach((option, index) => {
    const at = `${where}.${index}`;
    if (!VALUE_OPTION_TYPES.includes(option.type)) problems.push(`${at}.type: not modelled by the emulator`);
    if (!isChatInputName(option.name)) problems.push(`${at}.name: invalid option name`);
    if (names.has(option.name)) problems.push(`${at}.name: option names must be unique`);
    names.add(option.name);
    if (
      typeof option.description !== 'string' ||
      option.description.length < 1 ||
      option.description.length > 100
    ) {
      problems.push(`${at}.description: must be between 1 and 100 in length`);
    }
    const required = 'required' in option && option.required === true;
    if (required && optionalSeen)
      problems.push(`${at}: required options must be placed before non-required options`);
    if (!required) optionalSeen = true;
    const choices = 'choices' in option ? option.choices : undefined;
    if (choices !== undefined) {
      if (choices.length > 25) problems.push(`${at}.choices: must be 25 or fewer in length`);
      (choices as readonly APIApplicationCommandOptionChoice[]).forEach((choice, i) => {
        if (typeof choice.name !== 'string' || choice.name.length < 1 || choice.name.length > 100) {
          problems.push(`${at}.choices.${i}.name: must be between 1 and 100 in length`);
        }
        if (typeof choice.value === 'string' && (choice.value.length < 1 || choice.value.length > 100)) {
          problems.push(`${at}.choices.${i}.value: must be between 1 and 100 in length`);
        }
      });
    }
    if (option.type === ApplicationCommandOptionType.String) {
      const { min_length: min, max_length: max } = option;
      if (min !== undefined && (min < 0 || min > 6000)) problems.push(`${at}.min_length: must be 0 to 6000`);
      if (max !== undefined && (max < 1 || max > 6000)) problems.push(`${at}.max_length: must be 1 to 6000`);
      if (choices !== undefined && (min !== undefined || max !== undefined)) {
        problems.push(`${at}: min_length and max_length cannot be set with choices`);
      }
    }
  });
  return problems;
}

/**
 * The `data.options` of a CHAT_INPUT interaction for the values a user gave, checked the way
 * Discord's client would let them be given: each a registered option of the right type, a choice's
 * value when the option has choices, within its length, every required option there. Throws when a
 * real user could not have given them.
 */
export function interactionOptions(
  command: APIApplicationCommand,
  given: Readonly<Record<string, CommandOptionValue>>,
): APIApplicationCommandInteractionDataOption[] | undefined {
  const registered = command.options ?? [];
  for (const option of registered) {
    if ('required' in option && option.required === true && !(option.name in given)) {
      throw new Error(`/${command.name} needs its option ${option.name}`);
    }
  }
  const entries = Object.entries(given);
  if (entries.length === 0) return undefined;
  return entries.map(([name, value]) => {
    const option = registered.find((candidate) => candidate.name === name);
    if (option === undefined) throw new Error(`/${command.name} has no option ${name}`);
    const choices = 'choices' in option ? option.choices : undefined;
    if (choices !== undefined && !choices.some((choice) => choice.value === value)) {
      throw new Error(`/${command.name} ${name}: ${String(value)} is not one of its choices`);
    }
    if (option.type === ApplicationCommandOptionType.String) {
      if (typeof value !== 'string') throw new Error(`/${command.name} ${name}: must be a string`);
      if (value.length < (option.min_length ?? 0) || value.length > (option.max_length ?? 6000)) {
        throw new Error(`/${command.name} ${name}: ${JSON.stringify(value)} is out of its length bounds`);
      }
      return { name, type: ApplicationCommandOptionType.String, value };
    }
    if (option.type === ApplicationCommandOptionType.Boolean && typeof value === 'boolean') {
      return { name, type: ApplicationCommandOptionType.Boolean, value };
    }
    if (option.type === ApplicationCommandOptionType.Integer && Number.isInteger(value)) {
      return { name, type: ApplicationCommandOptionType.Integer, value: value as number };
    }
    if (option.type === ApplicationCommandOptionType.Number && typeof value === 'number') {
      return { name, type: ApplicationCommandOptionType.Number, value };
    }
    throw new Error(`/${command.name} ${name}: ${String(value)} is not of the option's type`);
  });
}
